import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import { concatBytes, fromHex, toHex, utf8 } from '../src/bytes.ts'
import { nodeAead } from '../src/crypto/aead.node.ts'
import { nobleAead } from '../src/crypto/aead.ts'
import { createNobleBackend } from '../src/crypto/noble.ts'
import { assertValidPublicKey, precheck, strictVerifyNoble } from '../src/crypto/strict.ts'
import type { Aead, CryptoBackend } from '../src/crypto/types.ts'
import { createWebCryptoBackend, hasWebCryptoCurves } from '../src/crypto/webcrypto.ts'
import { errorCode } from '../src/errors.ts'
import ed25519Vectors from './vectors/ed25519.json'

interface Ed25519Case {
  name: string
  secretKey?: string
  publicKey: string
  message: string
  signature: string
  valid: boolean
  error?: string
}

const vectors: { version: number; source: string; cases: Ed25519Case[] } = ed25519Vectors

/** The code of what `fn` throws, `undefined` when it does not throw. */
function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    return errorCode(e) ?? `not a ConclaveError: ${String(e)}`
  }
  return undefined
}

/** The code `promise` rejects with, `undefined` when it resolves. */
async function rejectedCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (e) {
    return errorCode(e) ?? `not a ConclaveError: ${String(e)}`
  }
  return undefined
}

const P = (1n << 255n) - 19n
function u(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

/** X25519 u-coordinates of small order, canonical or not, with and without the ignored top bit. */
const SMALL_ORDER_U: ReadonlyArray<[string, Uint8Array]> = [
  ['u = 0', u(0n)],
  ['u = 1', u(1n)],
  ['u = p - 1 (order 2)', u(P - 1n)],
  ['order-8 point', u(325606250916557431795983626356110631294008115727848805560023387167927233504n)],
  ['other order-8 point', u(39382357235489614581723060781553021112529911719440698176882885853963445705823n)],
  ['u = p (non-canonical 0)', u(P)],
  ['u = p + 1 (non-canonical 1)', u(P + 1n)],
  ['u = 0 with the top bit set', u(1n << 255n)],
]

const BACKENDS: ReadonlyArray<[string, () => CryptoBackend]> = [
  ['noble', () => createNobleBackend()],
  ['webcrypto with nobleAead', () => createWebCryptoBackend()],
  ['webcrypto with nodeAead', () => createWebCryptoBackend({ aead: nodeAead })],
]

const AEADS: ReadonlyArray<[string, Aead]> = [
  ['nobleAead', nobleAead],
  ['nodeAead', nodeAead],
]

describe('ed25519 vectors file', () => {
  it('has a version, a source and the RFC 8032 and speccheck cases', () => {
    expect(vectors.version).toBe(1)
    expect(vectors.source).toMatch(/RFC 8032/)
    expect(vectors.source).toMatch(/Taming the many EdDSAs/)
    expect(vectors.cases.filter((c) => c.name.startsWith('Taming the many EdDSAs'))).toHaveLength(12)
    expect(vectors.cases.filter((c) => c.name.startsWith('RFC 8032') && c.valid)).toHaveLength(3)
    expect(new Set(vectors.cases.map((c) => c.name)).size).toBe(vectors.cases.length)
  })
})

describe.each(BACKENDS)('crypto backend: %s', (_name, make) => {
  const backend = make()

  describe('ed25519 vectors', () => {
    it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', async (_caseName, c) => {
      const publicKey = fromHex(c.publicKey)
      const message = fromHex(c.message)
      const signature = fromHex(c.signature)
      expect(await backend.ed25519.verify(publicKey, message, signature)).toBe(c.valid)
      expect(thrownCode(() => backend.ed25519.assertValidPublicKey(publicKey))).toBe(c.error)
      if (c.secretKey !== undefined) {
        const key = await backend.ed25519.importSeed(fromHex(c.secretKey))
        expect(toHex(key.publicKey)).toBe(c.publicKey)
        expect(toHex(await backend.ed25519.sign(key, message))).toBe(c.signature)
      }
    })
  })

  it('signs and verifies a round trip, and refuses another message or key', async () => {
    const key = await backend.ed25519.generate()
    expect(key.backend).toBe(backend.name)
    expect(key.publicKey).toHaveLength(32)
    const message = utf8('conclave round 1')
    const signature = await backend.ed25519.sign(key, message)
    expect(signature).toHaveLength(64)
    expect(await backend.ed25519.verify(key.publicKey, message, signature)).toBe(true)
    expect(await backend.ed25519.verify(key.publicKey, utf8('conclave round 2'), signature)).toBe(false)
    const other = await backend.ed25519.generate()
    expect(await backend.ed25519.verify(other.publicKey, message, signature)).toBe(false)
    expect(thrownCode(() => backend.ed25519.assertValidPublicKey(key.publicKey))).toBeUndefined()
  })

  it('exports and re-imports an extractable seed', async () => {
    const key = await backend.ed25519.generate({ extractable: true })
    expect(key.extractable).toBe(true)
    const seed = await backend.ed25519.exportSeed(key)
    expect(seed).toHaveLength(32)
    const again = await backend.ed25519.importSeed(seed, { extractable: true })
    expect(again.publicKey).toEqual(key.publicKey)
    expect(await backend.ed25519.exportSeed(again)).toEqual(seed)
    const message = utf8('same key, same signature')
    expect(await backend.ed25519.sign(again, message)).toEqual(await backend.ed25519.sign(key, message))
  })

  it('checks arguments with INVALID_ARGUMENT', async () => {
    expect(await rejectedCode(backend.ed25519.importSeed(new Uint8Array(31)))).toBe('INVALID_ARGUMENT')
    const key = await backend.ed25519.generate()
    const signature = await backend.ed25519.sign(key, utf8('m'))
    expect(
      await rejectedCode(backend.ed25519.verify(key.publicKey, 'm' as unknown as Uint8Array, signature)),
    ).toBe('INVALID_ARGUMENT')
    expect(await rejectedCode(backend.ed25519.sign(key, 'm' as unknown as Uint8Array))).toBe(
      'INVALID_ARGUMENT',
    )
    const foreign = backend.name === 'noble' ? createWebCryptoBackend() : createNobleBackend()
    const foreignKey = await foreign.ed25519.generate({ extractable: true })
    expect(await rejectedCode(backend.ed25519.sign(foreignKey, utf8('m')))).toBe('INVALID_ARGUMENT')
    expect(await rejectedCode(backend.ed25519.exportSeed(foreignKey))).toBe('INVALID_ARGUMENT')
    const foreignEphemeral = await foreign.x25519.generate()
    const ownEphemeral = await backend.x25519.generate()
    expect(await rejectedCode(backend.x25519.sharedSecret(foreignEphemeral, ownEphemeral.publicKey))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(await rejectedCode(backend.x25519.sharedSecret(ownEphemeral, new Uint8Array(31)))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(await rejectedCode(backend.x25519.importSecret(new Uint8Array(33)))).toBe('INVALID_ARGUMENT')
    expect(thrownCode(() => backend.ed25519.assertValidPublicKey('ab' as unknown as Uint8Array))).toBe(
      'INVALID_ARGUMENT',
    )
  })

  it('agrees on an X25519 shared secret', async () => {
    const alice = await backend.x25519.generate()
    const bob = await backend.x25519.generate()
    const ab = await backend.x25519.sharedSecret(alice, bob.publicKey)
    const ba = await backend.x25519.sharedSecret(bob, alice.publicKey)
    expect(ab).toHaveLength(32)
    expect(ab).toEqual(ba)
  })

  it('computes the RFC 7748 section 6.1 X25519 vector', async () => {
    const alice = await backend.x25519.importSecret(
      fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    )
    const bob = await backend.x25519.importSecret(
      fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
    )
    expect(toHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    expect(toHex(await backend.x25519.sharedSecret(alice, bob.publicKey))).toBe(shared)
    expect(toHex(await backend.x25519.sharedSecret(bob, alice.publicKey))).toBe(shared)
  })

  it.each(SMALL_ORDER_U)(
    'refuses a small-order X25519 peer key (%s) with HANDSHAKE_WEAK_KEY',
    async (_n, peer) => {
      const own = await backend.x25519.generate()
      expect(await rejectedCode(backend.x25519.sharedSecret(own, peer))).toBe('HANDSHAKE_WEAK_KEY')
    },
  )

  it('gives random bytes of any length, across the 65536-byte getRandomValues limit', () => {
    expect(backend.randomBytes(0)).toHaveLength(0)
    const big = backend.randomBytes(70_000)
    expect(big).toHaveLength(70_000)
    expect(big.subarray(65_536).some((b) => b !== 0)).toBe(true)
    expect(backend.randomBytes(32)).not.toEqual(backend.randomBytes(32))
    expect(thrownCode(() => backend.randomBytes(-1))).toBe('INVALID_ARGUMENT')
    expect(thrownCode(() => backend.randomBytes(1.5))).toBe('INVALID_ARGUMENT')
  })

  it('seals and opens with its AEAD', () => {
    const key = backend.randomBytes(32)
    const nonce = backend.randomBytes(12)
    const sealed = backend.aead.seal(key, nonce, utf8('aad'), utf8('hello'))
    expect(backend.aead.open(key, nonce, utf8('aad'), sealed)).toEqual(utf8('hello'))
  })
})

describe('noble and webcrypto backends together', () => {
  const noble = createNobleBackend()
  const webcrypto = createWebCryptoBackend({ aead: nodeAead })

  it('detects WebCrypto Ed25519 and X25519 in Node', async () => {
    expect(await hasWebCryptoCurves()).toBe(true)
  })

  it('throws CRYPTO_UNAVAILABLE where WebCrypto lacks Ed25519 / X25519', async () => {
    const notSupported = () => Promise.reject(new DOMException('Unrecognized name', 'NotSupportedError'))
    const subtle = {
      generateKey: notSupported,
      importKey: notSupported,
      sign: notSupported,
      verify: notSupported,
      deriveBits: notSupported,
      exportKey: notSupported,
    } as unknown as SubtleCrypto
    expect(await hasWebCryptoCurves(subtle)).toBe(false)
    const backend = createWebCryptoBackend({ subtle })
    expect(await rejectedCode(backend.ed25519.generate())).toBe('CRYPTO_UNAVAILABLE')
    expect(await rejectedCode(backend.ed25519.importSeed(new Uint8Array(32)))).toBe('CRYPTO_UNAVAILABLE')
    const rfc = vectors.cases[0]!
    const verdict = backend.ed25519.verify(
      fromHex(rfc.publicKey),
      fromHex(rfc.message),
      fromHex(rfc.signature),
    )
    expect(await rejectedCode(verdict)).toBe('CRYPTO_UNAVAILABLE')
    expect(await rejectedCode(backend.x25519.generate())).toBe('CRYPTO_UNAVAILABLE')
    expect(await rejectedCode(backend.x25519.importSecret(new Uint8Array(32)))).toBe('CRYPTO_UNAVAILABLE')
  })

  it('produce identical public keys and signatures for the same seed', async () => {
    for (let i = 0; i < 8; i++) {
      const seed = noble.randomBytes(32)
      const a = await noble.ed25519.importSeed(seed)
      const b = await webcrypto.ed25519.importSeed(seed)
      expect(b.publicKey).toEqual(a.publicKey)
      const message = noble.randomBytes(i * 37)
      const signature = await noble.ed25519.sign(a, message)
      expect(await webcrypto.ed25519.sign(b, message)).toEqual(signature)
      expect(await webcrypto.ed25519.verify(a.publicKey, message, signature)).toBe(true)
      expect(await noble.ed25519.verify(b.publicKey, message, signature)).toBe(true)
    }
  })

  it('moves a seed from webcrypto to noble and back', async () => {
    const key = await webcrypto.ed25519.generate({ extractable: true })
    const seed = await webcrypto.ed25519.exportSeed(key)
    const nobleKey = await noble.ed25519.importSeed(seed)
    expect(nobleKey.publicKey).toEqual(key.publicKey)
    expect(await noble.ed25519.exportSeed(nobleKey)).toEqual(seed)
  })

  it('keeps webcrypto keys non-extractable by default: exportSeed throws KEY_NOT_EXTRACTABLE', async () => {
    const generated = await webcrypto.ed25519.generate()
    expect(generated.extractable).toBe(false)
    expect(await rejectedCode(webcrypto.ed25519.exportSeed(generated))).toBe('KEY_NOT_EXTRACTABLE')
    const imported = await webcrypto.ed25519.importSeed(noble.randomBytes(32), { extractable: false })
    expect(imported.extractable).toBe(false)
    expect(await rejectedCode(webcrypto.ed25519.exportSeed(imported))).toBe('KEY_NOT_EXTRACTABLE')
    // Still usable for signing.
    const signature = await webcrypto.ed25519.sign(imported, utf8('m'))
    expect(await noble.ed25519.verify(imported.publicKey, utf8('m'), signature)).toBe(true)
  })

  it('noble keys are always extractable (the seed is raw)', async () => {
    const key = await noble.ed25519.generate({ extractable: false })
    expect(key.extractable).toBe(true)
    expect(await noble.ed25519.exportSeed(key)).toHaveLength(32)
  })

  it('give the same X25519 public key and shared secret for the same (unclamped) secret', async () => {
    const secrets = [noble.randomBytes(32), new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0x01)]
    const peer = await noble.x25519.generate()
    for (const secret of secrets) {
      const a = await noble.x25519.importSecret(secret)
      const b = await webcrypto.x25519.importSecret(secret)
      expect(b.publicKey).toEqual(a.publicKey)
      const shared = await noble.x25519.sharedSecret(a, peer.publicKey)
      expect(await webcrypto.x25519.sharedSecret(b, peer.publicKey)).toEqual(shared)
      expect(await noble.x25519.sharedSecret(peer, b.publicKey)).toEqual(shared)
    }
  })

  it('agree on an X25519 handshake across backends', async () => {
    const a = await noble.x25519.generate()
    const b = await webcrypto.x25519.generate()
    expect(await webcrypto.x25519.sharedSecret(b, a.publicKey)).toEqual(
      await noble.x25519.sharedSecret(a, b.publicKey),
    )
  })

  it('verify many signatures in flight (one cached public key import)', async () => {
    const key = await webcrypto.ed25519.generate()
    const messages = Array.from({ length: 64 }, (_, i) => utf8(`message ${i}`))
    const signatures = await Promise.all(messages.map((m) => webcrypto.ed25519.sign(key, m)))
    const verdicts = await Promise.all(
      messages.map((m, i) => webcrypto.ed25519.verify(key.publicKey, m, signatures[(i + (i % 2)) % 64]!)),
    )
    expect(verdicts).toEqual(messages.map((_, i) => i % 2 === 0))
  })

  it('agree with each other on random tampering of valid signatures', async () => {
    const key = await noble.ed25519.importSeed(noble.randomBytes(32))
    const message = utf8('tamper with me')
    const signature = await noble.ed25519.sign(key, message)
    for (let i = 0; i < 64; i++) {
      const bad = signature.slice()
      const at = i % 64
      bad[at] = bad[at]! ^ (1 << (i % 8))
      const verdict = await noble.ed25519.verify(key.publicKey, message, bad)
      expect(verdict).toBe(false)
      expect(await webcrypto.ed25519.verify(key.publicKey, message, bad)).toBe(verdict)
    }
  })
})

describe('strict Ed25519 rule', () => {
  const byName = (fragment: string): Ed25519Case => {
    const found = vectors.cases.find((c) => c.name.includes(fragment))
    if (found === undefined) throw new Error(`no vector named like ${fragment}`)
    return found
  }
  const args = (c: Ed25519Case) => [fromHex(c.publicKey), fromHex(c.message), fromHex(c.signature)] as const

  it('refuses what noble’s own cofactored verify accepts: mixed-order A and mixed-order R', () => {
    for (const fragment of ['mixed-order A = A + T8', 'mixed-order R = [r]B + T8', 'case 4:']) {
      const [publicKey, message, signature] = args(byName(fragment))
      expect(ed25519.verify(signature, message, publicKey, { zip215: false })).toBe(true)
      expect(strictVerifyNoble(publicKey, message, signature)).toBe(false)
    }
  })

  it('refuses a non-canonical R that ZIP-215 accepts', () => {
    const [publicKey, message, signature] = args(byName('non-canonical R (identity encoded with y = p + 1'))
    expect(ed25519.verify(signature, message, publicKey, { zip215: true })).toBe(true)
    expect(strictVerifyNoble(publicKey, message, signature)).toBe(false)
    expect(precheck(publicKey, signature)).toBe(false)
  })

  it('accepts R = identity made by the key holder (torsion-free A: not a forgery)', () => {
    const [publicKey, message, signature] = args(byName('R = identity (small order) made by the key holder'))
    expect(strictVerifyNoble(publicKey, message, signature)).toBe(true)
  })

  it('refuses the identity key whose R = identity, S = 0 signature passes any message', () => {
    const identity = fromHex(ED25519_TORSION_SUBGROUP[0]!)
    const signature = concatBytes(identity, new Uint8Array(32))
    for (const message of [utf8(''), utf8('anything'), utf8('at all')]) {
      expect(strictVerifyNoble(identity, message, signature)).toBe(false)
    }
    expect(thrownCode(() => assertValidPublicKey(identity))).toBe('KEY_SMALL_ORDER')
  })

  it('precheck passes valid signatures and refuses S >= L, a non-canonical R and a refused key', () => {
    for (const c of vectors.cases.filter((v) => v.valid)) {
      expect(precheck(fromHex(c.publicKey), fromHex(c.signature))).toBe(true)
    }
    expect(precheck(...dropMessage(args(byName('S replaced by S + L'))))).toBe(false)
    expect(precheck(...dropMessage(args(byName('with S = L'))))).toBe(false)
    expect(precheck(...dropMessage(args(byName('identity with x = 0 and the sign bit set), hashed'))))).toBe(
      false,
    )
    expect(precheck(...dropMessage(args(byName('case 3:'))))).toBe(false)
    expect(precheck(...dropMessage(args(byName('truncated to 63 bytes'))))).toBe(false)
  })

  it('remembers accepted keys but never refused ones', () => {
    const mixed = fromHex(byName('mixed-order A = A + T8').publicKey)
    expect(thrownCode(() => assertValidPublicKey(mixed))).toBe('KEY_INVALID')
    expect(thrownCode(() => assertValidPublicKey(mixed))).toBe('KEY_INVALID')
    const good = fromHex(byName('RFC 8032 7.1 TEST 1').publicKey)
    expect(thrownCode(() => assertValidPublicKey(good))).toBeUndefined()
    expect(thrownCode(() => assertValidPublicKey(good))).toBeUndefined()
  })
})

function dropMessage([publicKey, , signature]: readonly [Uint8Array, Uint8Array, Uint8Array]): [
  Uint8Array,
  Uint8Array,
] {
  return [publicKey, signature]
}

describe.each(AEADS)('AEAD: %s', (_name, aead) => {
  // RFC 8439 section 2.8.2.
  const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
  const nonce = fromHex('070000004041424344454647')
  const aad = fromHex('50515253c0c1c2c3c4c5c6c7')
  const plaintext = utf8(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  )
  const ciphertext = fromHex(
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
  )
  const tag = fromHex('1ae10b594f09e26a7e902ecbd0600691')
  const sealed = concatBytes(ciphertext, tag)

  it('reproduces the RFC 8439 section 2.8.2 vector', () => {
    const out = aead.seal(key, nonce, aad, plaintext)
    expect(toHex(out)).toBe(toHex(sealed))
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype)
    expect(aead.open(key, nonce, aad, sealed)).toEqual(plaintext)
  })

  it('refuses a tampered tag, ciphertext, aad, key or nonce with FRAME_DECRYPT_FAILED', () => {
    const flip = (bytes: Uint8Array, at: number): Uint8Array => {
      const out = bytes.slice()
      out[at] = out[at]! ^ 1
      return out
    }
    expect(thrownCode(() => aead.open(key, nonce, aad, flip(sealed, sealed.length - 1)))).toBe(
      'FRAME_DECRYPT_FAILED',
    )
    expect(thrownCode(() => aead.open(key, nonce, aad, flip(sealed, 0)))).toBe('FRAME_DECRYPT_FAILED')
    expect(thrownCode(() => aead.open(key, nonce, flip(aad, 3), sealed))).toBe('FRAME_DECRYPT_FAILED')
    expect(thrownCode(() => aead.open(key, nonce, new Uint8Array(0), sealed))).toBe('FRAME_DECRYPT_FAILED')
    expect(thrownCode(() => aead.open(flip(key, 0), nonce, aad, sealed))).toBe('FRAME_DECRYPT_FAILED')
    expect(thrownCode(() => aead.open(key, flip(nonce, 11), aad, sealed))).toBe('FRAME_DECRYPT_FAILED')
    expect(thrownCode(() => aead.open(key, nonce, aad, sealed.subarray(0, sealed.length - 1)))).toBe(
      'FRAME_DECRYPT_FAILED',
    )
    expect(thrownCode(() => aead.open(key, nonce, aad, tag.subarray(0, 15)))).toBe('FRAME_DECRYPT_FAILED')
    expect(thrownCode(() => aead.open(key, nonce, aad, new Uint8Array(0)))).toBe('FRAME_DECRYPT_FAILED')
  })

  it('seals an empty plaintext to a bare tag', () => {
    const out = aead.seal(key, nonce, aad, new Uint8Array(0))
    expect(out).toHaveLength(16)
    expect(aead.open(key, nonce, aad, out)).toHaveLength(0)
  })

  it('checks argument lengths with INVALID_ARGUMENT', () => {
    expect(thrownCode(() => aead.seal(key, nonce.subarray(0, 8), aad, plaintext))).toBe('INVALID_ARGUMENT')
    expect(thrownCode(() => aead.seal(key.subarray(0, 31), nonce, aad, plaintext))).toBe('INVALID_ARGUMENT')
    expect(thrownCode(() => aead.open(key, new Uint8Array(24), aad, sealed))).toBe('INVALID_ARGUMENT')
    expect(thrownCode(() => aead.seal(key, nonce, 'aad' as unknown as Uint8Array, plaintext))).toBe(
      'INVALID_ARGUMENT',
    )
  })
})

describe('AEAD cross-compatibility', () => {
  it.each([0, 1, 63, 64, 65, 1000, 70_000])('node seals and noble opens, and back (%i bytes)', (size) => {
    const key = crypto.getRandomValues(new Uint8Array(32))
    const nonce = crypto.getRandomValues(new Uint8Array(12))
    const aad = crypto.getRandomValues(new Uint8Array(size % 40))
    const plaintext = new Uint8Array(size).map((_, i) => i * 7)
    const byNode = nodeAead.seal(key, nonce, aad, plaintext)
    expect(byNode).toEqual(nobleAead.seal(key, nonce, aad, plaintext))
    expect(nobleAead.open(key, nonce, aad, byNode)).toEqual(plaintext)
    expect(nodeAead.open(key, nonce, aad, nobleAead.seal(key, nonce, aad, plaintext))).toEqual(plaintext)
    // with room reserved in front (a frame header is written there): zeros, then the same bytes
    for (const aead of [nodeAead, nobleAead]) {
      const framed = aead.seal(key, nonce, aad, plaintext, 9)
      expect(framed.subarray(0, 9)).toEqual(new Uint8Array(9))
      expect(framed.subarray(9)).toEqual(byNode)
      expect(framed.byteOffset).toBe(0)
      expect(framed.buffer.byteLength).toBe(framed.length)
    }
    // what node opens is a plain, exact Uint8Array (it may be transferred to a Worker)
    const opened = nodeAead.open(key, nonce, aad, byNode)
    expect(opened.byteOffset === 0 && opened.buffer.byteLength === opened.length).toBe(
      size > 0 || opened.length === 0,
    )
  })
})
