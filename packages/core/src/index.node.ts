/**
 * `@conclave/core/node`: everything of `@conclave/core` plus the Node pieces: the node:crypto
 * ChaCha20-Poly1305 and `createNodeCrypto()`, WebCrypto Ed25519/X25519 with that AEAD; and
 * `joinRoom` / `createRoomParty` / `createPlatformCrypto` on Node's parts (@roamhq/wrtc, a
 * worker_threads Worker, files), in place of the browser ones of the root entry.
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
