/**
 * `@conclave/core/node`: everything of `@conclave/core` plus the Node pieces: the node:crypto
 * ChaCha20-Poly1305 and `createNodeCrypto()`, WebCrypto Ed25519/X25519 with that AEAD.
 * @packageDocumentation
 */
import { nodeAead } from './crypto/aead.node.ts'
import type { CryptoBackend } from './crypto/types.ts'
import { createWebCryptoBackend } from './crypto/webcrypto.ts'

export * from './index.ts'
export { nodeAead }
export { createFileGrantStore } from './session/grant-store.node.ts'
export {
  createFileOutboxStore,
  type FileOutboxStore,
  type FileOutboxStoreOptions,
} from './session/outbox-store.node.ts'

/** The fastest backend in Node: WebCrypto Ed25519/X25519 (Node ≥ 20) and node:crypto's AEAD. */
export function createNodeCrypto(): CryptoBackend {
  return createWebCryptoBackend({ aead: nodeAead })
}
export { createNodeWorkerSessionHost, type NodeWorkerSessionHostOptions } from './worker/node.ts'
