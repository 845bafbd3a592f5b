/**
 * Node's default crypto backend (Node only).
 * @module
 */
import { nodeAead } from './aead.node.ts'
import { withNodeNative } from './native.node.ts'
import type { CryptoBackend } from './types.ts'
import { createWebCryptoBackend } from './webcrypto.ts'

/**
 * The fastest backend in Node: WebCrypto Ed25519/X25519 keys (Node ≥ 20), node:crypto's AEAD, and
 * node:crypto's synchronous Ed25519 and SHA-256 on the hot paths (`withNodeNative`).
 * @example
 * ```ts
 * const crypto = createNodeCrypto()
 * const identity = await generateIdentity(crypto)
 * ```
 */
export function createNodeCrypto(): CryptoBackend {
  return withNodeNative(createWebCryptoBackend({ aead: nodeAead }))
}
