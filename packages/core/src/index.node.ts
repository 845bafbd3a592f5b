/**
 * `@conclave/core/node`: the root entry for Node. It holds every name of `@conclave/core`, with
 * `joinRoom` / `createRoomParty` / `createPlatformCrypto` on Node's parts (@roamhq/wrtc, a
 * worker_threads Worker, files) in place of the browser ones, and what only Node has:
 *
 * - for applications: {@link createNodeCrypto}; the file stores that outlive a restart,
 *   {@link createFileOutboxStore} and {@link createFileGrantStore}
 * - for assemblies of your own (beside `@conclave/core/host`, `/transport`, `/crypto`): the
 *   worker_threads session host {@link createNodeWorkerSessionHost}, {@link setImmediateTurn},
 *   node:crypto's ChaCha20-Poly1305 {@link nodeAead} and {@link withNodeNative}, and the loaders
 *   of simple-peer and @roamhq/wrtc ({@link loadNodeSimplePeer}, {@link loadWrtc})
 *
 * This is the only entry that loads node: built-ins; every other one is safe in a browser bundle.
 * @packageDocumentation
 * @module @conclave/core/node
 */
import { nodeAead } from './crypto/aead.node.ts'
import { withNodeNative } from './crypto/native.node.ts'

export { setImmediateTurn } from './channel/next-turn.node.ts'
export * from './index.ts'
export { nodeAead, withNodeNative }
export { createNodeCrypto } from './crypto/node-crypto.node.ts'
export {
  createPlatformCrypto,
  createRoomParty,
  joinRoom,
  loadNodeSimplePeer,
  loadWrtc,
  type NodeJoinRoomOptions,
} from './room/room.node.ts'
export { createFileGrantStore } from './session/grant-store.node.ts'
export {
  createFileOutboxStore,
  type FileOutboxStore,
  type FileOutboxStoreOptions,
} from './session/outbox-store.node.ts'
export { createNodeWorkerSessionHost, type NodeWorkerSessionHostOptions } from './worker/node.ts'
