/**
 * Crypto backends (browser-safe): the seam types, the WebCrypto and noble backends, the strict
 * Ed25519 rule and the @noble/ciphers AEAD. The node:crypto AEAD (`nodeAead`) lives in
 * `aead.node.ts` and is exported only from Node entry points.
 * @module
 */
export { nobleAead } from './aead.ts'
export { createNobleBackend, type NobleBackendOptions } from './noble.ts'
export { assertValidPublicKey, PUBLIC_KEY_CACHE_SIZE, strictVerifyNoble } from './strict.ts'
export type { Aead, CryptoBackend, Ed25519Ops, EphemeralKey, SigningKey, X25519Ops } from './types.ts'
export { createWebCryptoBackend, hasWebCryptoCurves, type WebCryptoBackendOptions } from './webcrypto.ts'
