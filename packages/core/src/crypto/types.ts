/**
 * The crypto backend seam (types only). Two implementations pass the same vectors:
 * `createWebCryptoBackend` (WebCrypto Ed25519/X25519) and `createNobleBackend` (@noble/curves).
 * The AEAD is its own seam: node:crypto in Node, @noble/ciphers in browsers.
 * @module
 */

/** An Ed25519 signing key. The private part stays inside `handle` (a CryptoKey or a seed). */
export interface SigningKey {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** Which backend made it. */
  readonly backend: CryptoBackend['name']
  /** True when {@link Ed25519Ops.exportSeed} can export the seed. */
  readonly extractable: boolean
  /** Backend-private handle (WebCrypto CryptoKey, or the noble seed). Never log it. */
  readonly handle: unknown
}

/** An X25519 key pair for one handshake. */
export interface EphemeralKey {
  readonly publicKey: Uint8Array
  readonly handle: unknown
}

/** Ed25519 with the one strict verification rule of DESIGN ("Identity and trust"). */
export interface Ed25519Ops {
  /** A fresh key pair. `extractable: false` keeps the seed unexportable where the backend can. */
  generate(options?: { extractable?: boolean }): Promise<SigningKey>
  /** Import a 32-byte seed (RFC 8032 private key). */
  importSeed(seed: Uint8Array, options?: { extractable?: boolean }): Promise<SigningKey>
  /** @throws ConclaveError `KEY_NOT_EXTRACTABLE` */
  exportSeed(key: SigningKey): Promise<Uint8Array>
  /** A deterministic RFC 8032 signature (64 bytes). */
  sign(key: SigningKey, message: Uint8Array): Promise<Uint8Array>
  /**
   * Strict verification: false (never a throw) for any of: public key or R non-canonical, S ≥ L,
   * public key of small order or not in the prime-order subgroup, wrong lengths, or a failed
   * cofactorless equation `[S]B = R + [k]A`.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
  /**
   * Check that a public key is acceptable as an identity (canonical, not small order, torsion-free).
   * @throws ConclaveError `KEY_INVALID` or `KEY_SMALL_ORDER`
   */
  assertValidPublicKey(publicKey: Uint8Array): void
  /**
   * {@link sign} without a promise, where the backend has a synchronous signer (node:crypto):
   * the hot send path uses it when present.
   */
  signSync?(key: SigningKey, message: Uint8Array): Uint8Array
  /** {@link verify} without a promise (the same strict rule), where the backend has one. */
  verifySync?(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
}

/** X25519 for the handshake. */
export interface X25519Ops {
  generate(): Promise<EphemeralKey>
  /** Import a 32-byte secret scalar (tests and vectors only need it). */
  importSecret(secret: Uint8Array): Promise<EphemeralKey>
  /**
   * The 32-byte shared secret.
   * @throws ConclaveError `HANDSHAKE_WEAK_KEY` when it is all zero (a small-order peer key).
   */
  sharedSecret(own: EphemeralKey, peerPublicKey: Uint8Array): Promise<Uint8Array>
}

/** ChaCha20-Poly1305 (RFC 8439), 32-byte key, 12-byte nonce, 16-byte tag. Synchronous. */
export interface Aead {
  readonly name: 'node' | 'noble'
  /**
   * `reserve` zero bytes ‖ ciphertext ‖ tag: a frame's header can be written into the reserved
   * bytes, so the sealed frame is never copied again. @param reserve @default 0
   */
  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    reserve?: number,
  ): Uint8Array
  /** @throws ConclaveError `FRAME_DECRYPT_FAILED` when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array
}

/** The crypto backend passed to `createParty({ crypto })`. */
export interface CryptoBackend {
  readonly name: 'webcrypto' | 'noble'
  readonly ed25519: Ed25519Ops
  readonly x25519: X25519Ops
  readonly aead: Aead
  /** Bytes from a CSPRNG. */
  randomBytes(length: number): Uint8Array
  /**
   * SHA-256 of the concatenation of `parts`, where the backend has a faster one than
   * @noble/hashes (node:crypto); the digests of batched units use it when present.
   */
  sha256?(parts: readonly Uint8Array[]): Uint8Array
  /** As {@link sha256}, written into `out` at `offset` (32 bytes) instead of a new array. */
  sha256Into?(parts: readonly Uint8Array[], out: Uint8Array, offset: number): void
}
