/**
 * simple-peer's prebuilt browser bundle (UMD, no Node built-ins). Its default export is the
 * constructor; `room.ts` gives it its type (`SimplePeerConstructor`), as an ambient module
 * cannot import a relative one.
 */
declare module 'simple-peer/simplepeer.min.js' {
  const SimplePeer: unknown
  export default SimplePeer
}
