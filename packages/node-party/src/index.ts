/**
 * `@conclave/node-party`: a headless Conclave party for Node (library and `conclave-party` CLI).
 * @packageDocumentation
 * @module @conclave/node-party
 */

export { main } from './cli.ts'
export { type CoordinateOptions, runCoordinated } from './coordinate.ts'
export type * from './events.ts'
export { isEvent } from './events.ts'
export { readIdentity, readRoster, writeNewIdentity } from './keyfile.ts'
export {
  loadSimplePeer,
  loadWrtc,
  type NodeParty,
  type NodePartyOptions,
  startNodeParty,
} from './node-party.ts'
