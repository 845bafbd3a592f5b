/** simple-peer's prebuilt browser bundle (UMD): its default export is the constructor. */
declare module 'simple-peer/simplepeer.min.js' {
  import type { SimplePeerConstructor } from '@conclave/core'

  const SimplePeer: SimplePeerConstructor
  export default SimplePeer
}
