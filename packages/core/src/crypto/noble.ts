/**
 * The pure-JS crypto backend: Ed25519 and X25519 from @noble/curves, verification by the strict
 * rule of `strict.ts`, ChaCha20-Poly1305 from @noble/ciphers unless another AEAD is passed. For
 * platforms without WebCrypto Ed25519/X25519.
 * @module
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { assertBytes, describe } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { nobleAead } from './aead.ts'
import { assertValidPublicKey, strictVerifyNoble } from './strict.ts'
import type { Aead, CryptoBackend, EphemeralKey, SigningKey } from './types.ts'

/** Options of {@link createNobleBackend}. */
export interface NobleBackendOptions {
  /**
   * The AEAD. Node entry points pass `nodeAead` (node:crypto).
   * @default nobleAead
   */
  aead?: Aead
}

/** `crypto.getRandomValues` fills at most 65536 bytes per call. */
const RANDOM_CHUNK = 65536

/**
 * `length` bytes from `crypto.getRandomValues`.
 * @throws ConclaveError `INVALID_ARGUMENT` unless `length` is a non-negative safe integer.
 */
function randomBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"length" expected a non-negative integer, got ${typeof length === 'number' ? length : describe(length)}`,
    )
  }
  const out = new Uint8Array(length)
  for (let offset = 0; offset < length; offset += RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + RANDOM_CHUNK)))
  }
  return out
}

/** The seed inside a noble signing key. */
function seedOf(key: SigningKey): Uint8Array {
  if (key?.backend !== 'noble' || !(key.handle instanceof Uint8Array) || key.handle.length !== 32) {
    throw new ConclaveError('INVALID_ARGUMENT', `"key" expected a noble signing key, got ${describeKey(key)}`)
  }
  return key.handle
}

/** The secret inside a noble X25519 key. */
function secretOf(key: EphemeralKey): Uint8Array {
  if (!(key?.handle instanceof Uint8Array) || key.handle.length !== 32) {
    throw new ConclaveError('INVALID_ARGUMENT', `"own" expected a noble X25519 key, got ${describeKey(key)}`)
  }
  return key.handle
}

/** True when every byte is zero, without an early exit (the bytes are a secret). */
function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!
  return acc === 0
}

function describeKey(key: { handle?: unknown; backend?: unknown } | null | undefined): string {
  if (typeof key !== 'object' || key === null) return describe(key)
  return typeof key.backend === 'string'
    ? `a ${key.backend} key`
    : `a key with a ${describe(key.handle)} handle`
}

function signingKey(seed: Uint8Array): SigningKey {
  return Object.freeze({
    publicKey: ed25519.getPublicKey(seed),
    backend: 'noble' as const,
    extractable: true,
    handle: seed,
  })
}

function ephemeralKey(secret: Uint8Array): EphemeralKey {
  return Object.freeze({ publicKey: x25519.getPublicKey(secret), handle: secret })
}

/**
 * The @noble/curves backend.
 *
 * The handle of a signing key is its raw 32-byte seed, held in JS memory: `extractable` is always
 * true and the `extractable` option of `generate` / `importSeed` is ignored, since nothing could
 * stop code holding the key from reading the seed. Where the identity key must stay
 * non-extractable, use the WebCrypto backend.
 *
 * X25519 refuses small-order peer keys (noble throws for them, and an all-zero shared secret is
 * refused too) with `HANDSHAKE_WEAK_KEY`.
 *
 * @example
 * ```ts
 * const crypto = createNobleBackend()
 * const key = await crypto.ed25519.generate()
 * const sig = await crypto.ed25519.sign(key, message)
 * await crypto.ed25519.verify(key.publicKey, message, sig) // true
 * ```
 */
export function createNobleBackend(options: NobleBackendOptions = {}): CryptoBackend {
  const aead = options.aead ?? nobleAead
  return Object.freeze({
    name: 'noble' as const,
    aead,
    randomBytes,
    ed25519: Object.freeze({
      async generate(): Promise<SigningKey> {
        return signingKey(randomBytes(32))
      },
      async importSeed(seed: Uint8Array): Promise<SigningKey> {
        assertBytes('seed', seed, 32)
        return signingKey(seed.slice())
      },
      async exportSeed(key: SigningKey): Promise<Uint8Array> {
        return seedOf(key).slice()
      },
      async sign(key: SigningKey, message: Uint8Array): Promise<Uint8Array> {
        const seed = seedOf(key)
        assertBytes('message', message)
        return ed25519.sign(message, seed)
      },
      async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
        return strictVerifyNoble(publicKey, message, signature)
      },
      assertValidPublicKey,
    }),
    x25519: Object.freeze({
      async generate(): Promise<EphemeralKey> {
        return ephemeralKey(randomBytes(32))
      },
      async importSecret(secret: Uint8Array): Promise<EphemeralKey> {
        assertBytes('secret', secret, 32)
        return ephemeralKey(secret.slice())
      },
      async sharedSecret(own: EphemeralKey, peerPublicKey: Uint8Array): Promise<Uint8Array> {
        const secret = secretOf(own)
        assertBytes('peerPublicKey', peerPublicKey, 32)
        let shared: Uint8Array
        try {
          shared = x25519.getSharedSecret(secret, peerPublicKey)
        } catch (cause) {
          // noble refuses the small-order u values before running the ladder.
          throw new ConclaveError('HANDSHAKE_WEAK_KEY', 'X25519 peer key has small order', {}, { cause })
        }
        if (isAllZero(shared)) {
          throw new ConclaveError('HANDSHAKE_WEAK_KEY', 'X25519 shared secret is all zero')
        }
        return shared
      },
    }),
  })
}
