/**
 * `@conclave/core/node`: everything of `@conclave/core` plus the Node pieces: the node:crypto
 * ChaCha20-Poly1305 and `createNodeCrypto()`, WebCrypto Ed25519/X25519 with that AEAD.
 * @packageDocumentation
 * @module @conclave/core/node
 */
import { nodeAead } from './crypto/aead.node.ts'
import { withNodeNative } from './crypto/native.node.ts'
import type { CryptoBackend } from './crypto/types.ts'
import { createWebCryptoBackend } from './crypto/webcrypto.ts'

export { setImmediateTurn } from './channel/next-turn.node.ts'
export * from './index.ts'
export { nodeAead, withNodeNative }
export { createFileGrantStore } from './session/grant-store.node.ts'
export {
  createFileOutboxStore,
  type FileOutboxStore,
  type FileOutboxStoreOptions,
} from './session/outbox-store.node.ts'

/**
 * The fastest backend in Node: WebCrypto Ed25519/X25519 keys (Node ≥ 20), node:crypto's AEAD, and
 * node:crypto's synchronous Ed25519 and SHA-256 on the hot paths (`withNodeNative`).
 */
export function createNodeCrypto(): CryptoBackend {
  return withNodeNative(createWebCryptoBackend({ aead: nodeAead }))
}
export { createNodeWorkerSessionHost, type NodeWorkerSessionHostOptions } from './worker/node.ts'
