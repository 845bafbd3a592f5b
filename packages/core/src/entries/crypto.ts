/**
 * `@conclave/core/crypto`: the crypto backends behind the `CryptoBackend` seam, for an
 * application that picks one rather than `createPlatformCrypto()`, and for code that verifies
 * Ed25519 under Conclave's strict rule: WebCrypto ({@link createWebCryptoBackend}), noble
 * ({@link createNobleBackend}), the @noble/ciphers ChaCha20-Poly1305 ({@link nobleAead}), and the
 * seam's parts. Node's backend and its node:crypto AEAD are in `@conclave/core/node`
 * (`createNodeCrypto`, `nodeAead`, `withNodeNative`).
 * @packageDocumentation
 * @module @conclave/core/crypto
 */

export { nobleAead } from '../crypto/aead.ts'
export { createNobleBackend, type NobleBackendOptions } from '../crypto/noble.ts'
export { assertValidPublicKey, PUBLIC_KEY_CACHE_SIZE, strictVerifyNoble } from '../crypto/strict.ts'
export type { Aead, Ed25519Ops, EphemeralKey, X25519Ops } from '../crypto/types.ts'
export {
  createWebCryptoBackend,
  hasWebCryptoCurves,
  type WebCryptoBackendOptions,
} from '../crypto/webcrypto.ts'
