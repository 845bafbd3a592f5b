/**
 * The WebCrypto backend: Ed25519 and X25519 from `crypto.subtle` (Node 20, Chromium ≥ 137), with
 * the strict verification rule of `strict.ts` checked before `subtle.verify`. Signing keys can be
 * non-extractable CryptoKeys, which IndexedDB stores as they are.
 * @module
 */
import { assertBytes, concatBytes, describe, equalBytes, fromHex, toHex } from '../bytes.ts'
import { ConclaveError, isConclaveError } from '../errors.ts'
import { nobleAead } from './aead.ts'
import { assertValidPublicKey, PUBLIC_KEY_CACHE_SIZE, precheck } from './strict.ts'
import type { Aead, CryptoBackend, EphemeralKey, SigningKey } from './types.ts'

/** Options of {@link createWebCryptoBackend}. */
export interface WebCryptoBackendOptions {
  /**
   * The SubtleCrypto to use.
   * @default globalThis.crypto.subtle
   */
  subtle?: SubtleCrypto
  /**
   * The AEAD. Node entry points pass `nodeAead` (node:crypto).
   * @default nobleAead
   */
  aead?: Aead
  /**
   * The CSPRNG behind `randomBytes` (pass a bound function: `crypto.getRandomValues.bind(crypto)`).
   * @default globalThis.crypto.getRandomValues
   */
  getRandomValues?: (array: Uint8Array<ArrayBuffer>) => unknown
}

const ED25519 = { name: 'Ed25519' } as const
const X25519 = { name: 'X25519' } as const
/** PKCS#8 v1 header of a raw Ed25519 seed (RFC 8410): SEQUENCE, version 0, OID 1.3.101.112, OCTET STRING. */
const ED25519_PKCS8_PREFIX = '302e020100300506032b657004220420'
/** The same header for an X25519 secret (OID 1.3.101.110). */
const X25519_PKCS8_PREFIX = '302e020100300506032b656e04220420'
/** A valid Ed25519 public key (RFC 8032 TEST 1) to probe for support. */
const ED25519_PROBE_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
/** `crypto.getRandomValues` fills at most 65536 bytes per call. */
const RANDOM_CHUNK = 65536

/** The X25519 base point, u = 9. */
function x25519BasePoint(): Uint8Array<ArrayBuffer> {
  const u = new Uint8Array(32)
  u[0] = 9
  return u
}

/** A view WebCrypto accepts (an ArrayBuffer-backed Uint8Array), copying only when needed. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)
}

function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}

/** True when every byte is zero, without an early exit (the bytes are a secret). */
function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!
  return acc === 0
}

function isNotSupported(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'NotSupportedError'
}

/** `CRYPTO_UNAVAILABLE` for a platform without the algorithm; anything else unchanged. */
function unavailable(e: unknown, algorithm: string): unknown {
  return isNotSupported(e)
    ? new ConclaveError(
        'CRYPTO_UNAVAILABLE',
        `this platform's WebCrypto has no ${algorithm}`,
        {},
        { cause: e },
      )
    : e
}

/** Run a SubtleCrypto call, turning NotSupportedError into `CRYPTO_UNAVAILABLE`. */
async function call<T>(algorithm: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (e) {
    throw unavailable(e, algorithm)
  }
}

function isPrivateKey(value: unknown, algorithm: string): value is CryptoKey {
  if (typeof value !== 'object' || value === null) return false
  const key = value as Partial<CryptoKey>
  return key.type === 'private' && key.algorithm?.name === algorithm
}

function describeKey(key: unknown): string {
  if (typeof key !== 'object' || key === null) return describe(key)
  const { backend } = key as { backend?: unknown }
  return typeof backend === 'string' ? `a ${backend} key` : 'a key without a WebCrypto handle'
}

/** The private CryptoKey inside a WebCrypto signing key. */
function signingHandle(key: SigningKey): CryptoKey {
  if (key?.backend !== 'webcrypto' || !isPrivateKey(key.handle, 'Ed25519')) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"key" expected a webcrypto signing key, got ${describeKey(key)}`,
    )
  }
  return key.handle
}

/** The private CryptoKey inside a WebCrypto X25519 key. */
function ephemeralHandle(key: EphemeralKey): CryptoKey {
  if (!isPrivateKey(key?.handle, 'X25519')) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"own" expected a webcrypto X25519 key, got ${describeKey(key)}`,
    )
  }
  return key.handle
}

/**
 * True when `subtle` can import Ed25519 and X25519 keys: use it to choose between this backend
 * and the noble one. Never throws.
 * @example
 * ```ts
 * const crypto = (await hasWebCryptoCurves()) ? createWebCryptoBackend() : createNobleBackend()
 * ```
 */
export async function hasWebCryptoCurves(
  subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle,
): Promise<boolean> {
  if (subtle === undefined) return false
  try {
    await subtle.importKey('raw', fromHex(ED25519_PROBE_KEY) as Uint8Array<ArrayBuffer>, ED25519, true, [
      'verify',
    ])
    await subtle.importKey('raw', x25519BasePoint(), X25519, true, [])
    return true
  } catch {
    return false
  }
}

/**
 * The WebCrypto backend.
 *
 * - Ed25519: `generate` / `importSeed` make non-extractable keys unless `{ extractable: true }`
 *   (`@default false`); `exportSeed` refuses a non-extractable key with `KEY_NOT_EXTRACTABLE`.
 *   `verify` runs `precheck` (canonical, torsion-free, not small-order A; S < L; canonical R)
 *   before `subtle.verify`, whose cofactorless check then agrees with the noble backend on every
 *   input. Imported public keys are cached ({@link PUBLIC_KEY_CACHE_SIZE} entries).
 * - X25519: WebCrypto and noble both clamp the secret, so the same 32 bytes give the same keys on
 *   both backends. A small-order peer key (WebCrypto throws OperationError, or an all-zero output)
 *   is refused with `HANDSHAKE_WEAK_KEY`.
 *
 * @throws ConclaveError `CRYPTO_UNAVAILABLE` when there is no `crypto.subtle` (e.g. an insecure
 *   browser context); its operations throw the same code when the platform lacks Ed25519 or X25519
 *   (see {@link hasWebCryptoCurves}).
 * @example
 * ```ts
 * const crypto = createWebCryptoBackend({ aead: nodeAead }) // in Node; browsers keep nobleAead
 * const key = await crypto.ed25519.generate() // non-extractable
 * ```
 */
export function createWebCryptoBackend(options: WebCryptoBackendOptions = {}): CryptoBackend {
  const subtle = options.subtle ?? globalThis.crypto?.subtle
  if (subtle === undefined) {
    throw new ConclaveError('CRYPTO_UNAVAILABLE', 'crypto.subtle is not available (insecure context?)')
  }
  const aead = options.aead ?? nobleAead
  const getRandomValues =
    options.getRandomValues ?? ((array: Uint8Array<ArrayBuffer>) => globalThis.crypto.getRandomValues(array))

  /** Imported public keys by hex; insertion order is eviction order. */
  const publicKeys = new Map<string, Promise<CryptoKey>>()
  let x25519Base: Promise<CryptoKey> | undefined

  function randomBytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"length" expected a non-negative integer, got ${typeof length === 'number' ? length : describe(length)}`,
      )
    }
    const out = new Uint8Array(length)
    for (let offset = 0; offset < length; offset += RANDOM_CHUNK) {
      getRandomValues(out.subarray(offset, Math.min(length, offset + RANDOM_CHUNK)))
    }
    return out
  }

  function verifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
    const id = toHex(publicKey)
    const cached = publicKeys.get(id)
    if (cached !== undefined) return cached
    const imported = call('Ed25519', () => subtle.importKey('raw', buf(publicKey), ED25519, true, ['verify']))
    imported.catch(() => publicKeys.delete(id))
    if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) {
      const oldest = publicKeys.keys().next()
      if (oldest.done !== true) publicKeys.delete(oldest.value)
    }
    publicKeys.set(id, imported)
    return imported
  }

  async function rawPublicKey(key: CryptoKey, algorithm: string): Promise<Uint8Array> {
    return new Uint8Array(await call(algorithm, () => subtle.exportKey('raw', key)))
  }

  async function x25519Derive(own: CryptoKey, peer: CryptoKey): Promise<Uint8Array> {
    return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, own, 256))
  }

  async function x25519PublicKey(own: CryptoKey): Promise<Uint8Array> {
    // The public key of an imported secret is X25519(secret, 9): no need to make the key extractable.
    x25519Base ??= call('X25519', () => subtle.importKey('raw', x25519BasePoint(), X25519, true, []))
    const base = await x25519Base
    return call('X25519', () => x25519Derive(own, base))
  }

  function signingKey(publicKey: Uint8Array, handle: CryptoKey): SigningKey {
    return Object.freeze({
      publicKey,
      backend: 'webcrypto' as const,
      extractable: handle.extractable,
      handle,
    })
  }

  return Object.freeze({
    name: 'webcrypto' as const,
    aead,
    randomBytes,
    ed25519: Object.freeze({
      async generate(opts: { extractable?: boolean } = {}): Promise<SigningKey> {
        const pair = await call('Ed25519', () =>
          subtle.generateKey(ED25519, opts.extractable ?? false, ['sign', 'verify']),
        )
        return signingKey(await rawPublicKey(pair.publicKey, 'Ed25519'), pair.privateKey)
      },
      async importSeed(seed: Uint8Array, opts: { extractable?: boolean } = {}): Promise<SigningKey> {
        assertBytes('seed', seed, 32)
        const pkcs8 = concatBytes(fromHex(ED25519_PKCS8_PREFIX), seed) as Uint8Array<ArrayBuffer>
        try {
          // Import once extractable to read the public key from the JWK, then again as asked.
          const probe = await call('Ed25519', () => subtle.importKey('pkcs8', pkcs8, ED25519, true, ['sign']))
          const jwk = await subtle.exportKey('jwk', probe)
          const publicKey = fromBase64url(jwk.x ?? '')
          if (publicKey.length !== 32) {
            throw new ConclaveError(
              'CRYPTO_UNAVAILABLE',
              'WebCrypto exported an Ed25519 JWK without a public key',
            )
          }
          const handle =
            opts.extractable === true
              ? probe
              : await subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign'])
          return signingKey(publicKey, handle)
        } finally {
          pkcs8.fill(0)
        }
      },
      async exportSeed(key: SigningKey): Promise<Uint8Array> {
        const handle = signingHandle(key)
        if (!handle.extractable) {
          throw new ConclaveError('KEY_NOT_EXTRACTABLE', 'this Ed25519 key was made non-extractable')
        }
        const pkcs8 = new Uint8Array(await call('Ed25519', () => subtle.exportKey('pkcs8', handle)))
        const prefix = fromHex(ED25519_PKCS8_PREFIX)
        if (pkcs8.length === 48 && equalBytes(pkcs8.subarray(0, 16), prefix)) return pkcs8.slice(16)
        // Another PKCS#8 layout (e.g. v2 with the public key): the JWK `d` is the seed too.
        const jwk = await subtle.exportKey('jwk', handle)
        const seed = fromBase64url(jwk.d ?? '')
        if (seed.length !== 32)
          throw new ConclaveError('CRYPTO_UNAVAILABLE', 'WebCrypto exported no Ed25519 seed')
        return seed
      },
      async sign(key: SigningKey, message: Uint8Array): Promise<Uint8Array> {
        const handle = signingHandle(key)
        assertBytes('message', message)
        return new Uint8Array(await call('Ed25519', () => subtle.sign(ED25519, handle, buf(message))))
      },
      async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
        assertBytes('message', message)
        if (!precheck(publicKey, signature)) return false
        try {
          const key = await verifyKey(publicKey)
          return await subtle.verify(ED25519, key, buf(signature), buf(message))
        } catch (e) {
          // Never a throw for a bad key or signature; only for a platform without Ed25519.
          if (isNotSupported(e) || isConclaveError(e, 'CRYPTO_UNAVAILABLE')) throw unavailable(e, 'Ed25519')
          return false
        }
      },
      assertValidPublicKey,
    }),
    x25519: Object.freeze({
      async generate(): Promise<EphemeralKey> {
        // lib.dom types X25519 generateKey as CryptoKey | CryptoKeyPair; it is always a pair.
        const pair = (await call('X25519', () =>
          subtle.generateKey(X25519, false, ['deriveBits']),
        )) as CryptoKeyPair
        return Object.freeze({
          publicKey: await rawPublicKey(pair.publicKey, 'X25519'),
          handle: pair.privateKey,
        })
      },
      async importSecret(secret: Uint8Array): Promise<EphemeralKey> {
        assertBytes('secret', secret, 32)
        const pkcs8 = concatBytes(fromHex(X25519_PKCS8_PREFIX), secret) as Uint8Array<ArrayBuffer>
        try {
          const handle = await call('X25519', () =>
            subtle.importKey('pkcs8', pkcs8, X25519, false, ['deriveBits']),
          )
          return Object.freeze({ publicKey: await x25519PublicKey(handle), handle })
        } finally {
          pkcs8.fill(0)
        }
      },
      async sharedSecret(own: EphemeralKey, peerPublicKey: Uint8Array): Promise<Uint8Array> {
        const handle = ephemeralHandle(own)
        assertBytes('peerPublicKey', peerPublicKey, 32)
        let shared: Uint8Array
        try {
          const peer = await subtle.importKey('raw', buf(peerPublicKey), X25519, true, [])
          shared = await x25519Derive(handle, peer)
        } catch (e) {
          if (isNotSupported(e)) throw unavailable(e, 'X25519')
          // OpenSSL refuses small-order u values (an all-zero result) with OperationError.
          throw new ConclaveError('HANDSHAKE_WEAK_KEY', 'X25519 peer key has small order', {}, { cause: e })
        }
        if (isAllZero(shared)) {
          throw new ConclaveError('HANDSHAKE_WEAK_KEY', 'X25519 shared secret is all zero')
        }
        return shared
      },
    }),
  })
}
