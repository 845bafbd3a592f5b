/**
 * Deterministic generator of the wire test vectors `envelope.json`, `batch.json`, `frame.json` and
 * `handshake.json` (DESIGN, "Test vectors"). Run from the repository root:
 *
 * ```sh
 * node --import tsx packages/core/test/vectors/generate.ts
 * ```
 *
 * Every secret, nonce, epoch and clock comes from a fixed label (`SHA-256("conclave/vectors/v1 " ‖
 * label)`) or a fixed constant, and Ed25519 (RFC 8032) is deterministic, so two runs write identical
 * files. The bytes are built twice: once here with small encoders written from DESIGN and the
 * layouts in the vector README (no `src/wire` code), and once with the package's own encoders and
 * the real `Handshake` class (its `fixed` option); the generator stops if the two disagree. The
 * verdicts (`valid`, `error`) are written by hand from DESIGN, never read off the code under test;
 * `vectors.node.test.ts` checks the code against them.
 * @module
 */
import { writeFileSync } from 'node:fs'
import {
  type CryptoBackend,
  type ErrorCode,
  errorCode,
  fromHex,
  type PartyId,
  partyIdFromBytes,
  type SigningKey,
  toHex,
} from '@conclave/core'
import { Handshake, type HandshakeResult } from '@conclave/core/channel'
import { createNobleBackend, nobleAead } from '@conclave/core/crypto'
import {
  decodeHandshake,
  encodeFrameHeader,
  encodeFullBatch,
  encodePayload,
  encodeRecords,
  encodeUnit,
  type Record as FrameRecord,
  HandshakeType,
  authSignedBytes as libAuthSignedBytes,
  batchSignedBytes as libBatchSignedBytes,
  deriveKeys as libDeriveKeys,
  encodeBatch as libEncodeBatch,
  envelopeSignedBytes as libEnvelopeSignedBytes,
  frameNonce as libFrameNonce,
  transcriptHash as libTranscriptHash,
} from '@conclave/core/wire'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'

// ── independent encoders (DESIGN, "Encoding conventions") ──────────────────────────────────

const enc = new TextEncoder()

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

function uint(bytes: number, v: bigint | number): Uint8Array {
  let n = BigInt(v)
  if (n < 0n || n >= 1n << BigInt(bytes * 8)) throw new Error(`u${bytes * 8} out of range: ${v}`)
  const out = new Uint8Array(bytes)
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}
const u8 = (v: number): Uint8Array => uint(1, v)
const u16 = (v: number): Uint8Array => uint(2, v)
const u32 = (v: number): Uint8Array => uint(4, v)
const u64 = (v: bigint): Uint8Array => uint(8, v)
const str16 = (s: string): Uint8Array => cat(u16(enc.encode(s).length), enc.encode(s))
const bytes32len = (b: Uint8Array): Uint8Array => cat(u32(b.length), b)
const tag = (name: string): Uint8Array => cat(enc.encode(name), u8(0))

const TAG_ENVELOPE = tag('conclave/msg/v1')
const TAG_HANDSHAKE = tag('conclave/v1/handshake')

const hex = toHex
function same(what: string, a: Uint8Array, b: Uint8Array): void {
  if (hex(a) !== hex(b))
    throw new Error(`generator self-check failed: ${what}\n  here: ${hex(a)}\n  src:  ${hex(b)}`)
}

/** `SHA-256("conclave/vectors/v1 " ‖ label)`: every fixed secret and random-looking value. */
const label = (name: string): Uint8Array => sha256(enc.encode(`conclave/vectors/v1 ${name}`))

// ── mutations: how a failing case's bytes were derived from honest ones ──────────────────

/** Applied to honest bytes to give what the receiver gets (documented in the README). */
type Mutation =
  | { op: 'xor'; offset: number; mask: string }
  | { op: 'replace'; offset: number; bytes: string }
  | { op: 'truncate'; length: number }
  | { op: 'append'; bytes: string }
  | { op: 'set'; bytes: string }

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  switch (m.op) {
    case 'xor': {
      const out = b.slice()
      const mask = fromHex(m.mask)
      for (let i = 0; i < mask.length; i++) out[m.offset + i] = out[m.offset + i]! ^ mask[i]!
      return out
    }
    case 'replace': {
      const out = b.slice()
      out.set(fromHex(m.bytes), m.offset)
      return out
    }
    case 'truncate':
      return b.slice(0, m.length)
    case 'append':
      return cat(b, fromHex(m.bytes))
    case 'set':
      return fromHex(m.bytes)
  }
}

// ── parties ───────────────────────────────────────────────────────────────────────────────

const backend: CryptoBackend = createNobleBackend({ aead: nobleAead })

const NAMES = ['alice', 'bob', 'carol', 'mallory'] as const
type Name = (typeof NAMES)[number]

interface Party {
  name: Name
  seed: Uint8Array
  key: SigningKey
  publicKey: Uint8Array
  id: PartyId
}

const parties = {} as Record<Name, Party>
for (const name of NAMES) {
  const seed = label(`identity ${name}`)
  const key = await backend.ed25519.importSeed(seed)
  same(`public key of ${name}`, ed25519.getPublicKey(seed), key.publicKey)
  parties[name] = { name, seed, key, publicKey: key.publicKey, id: partyIdFromBytes(key.publicKey) }
}
const { bob } = parties

/** 2026-01-01T00:00:00Z in ms: every clock is near it. */
const T0 = 1_767_225_600_000n
const ZERO32 = new Uint8Array(32)
/** Order of the Ed25519 prime-order subgroup. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n
/** The identity point (0, 1): small order (1); encodes as 01 00 … 00. */
const IDENTITY_POINT = cat(u8(1), new Uint8Array(31))
/** The Ed25519 base point B. */
const BASE_POINT = ed25519.Point.BASE.toBytes()

function leToBig(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}
function bigToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

// ── envelope.json ───────────────────────────────────────────────────────────────────────

const SESSION_ID = label('session')
const PARTICIPANTS: Name[] = ['alice', 'bob', 'carol']
const epochOf = (name: string): Uint8Array => label(`epoch ${name}`).slice(0, 16)

interface UnitSpec {
  from?: Name | 'identity-point'
  signer?: Name | 'forged'
  to: Name | 'broadcast'
  version?: number
  round?: number
  kind?: string
  seq?: bigint
  body?: string
  timestamp: bigint
  /** Sign `S + L` instead of S. */
  sPlusL?: boolean
  /** Sign the same bytes under the handshake tag instead of the envelope tag. */
  otherContext?: boolean
}

interface BuiltUnit {
  fields: {
    version: number
    sessionId: string
    round: number
    kind: string
    from: string
    epoch: string
    seq: string
    body: string
  }
  payload: Uint8Array
  recipient: Uint8Array
  timestamp: bigint
  signedBytes: Uint8Array
  signatureInput: Uint8Array | undefined
  signature: Uint8Array
  unit: Uint8Array
  signer: Party | undefined
  signatureOrigin: 'sign' | 'sign-s-plus-l' | 'forged-identity-key'
}

async function buildUnit(s: UnitSpec): Promise<BuiltUnit> {
  const fromBytes = s.from === 'identity-point' ? IDENTITY_POINT : parties[s.from ?? 'alice'].publicKey
  const version = s.version ?? 1
  const round = s.round ?? 1
  const kind = s.kind ?? 'msg'
  const seq = s.seq ?? 0n
  const body = enc.encode(s.body ?? 'hello')
  const epoch = epochOf(s.from ?? 'alice')
  const recipient = s.to === 'broadcast' ? ZERO32 : parties[s.to].publicKey
  // payload = u8 version ‖ bytes32 sessionId ‖ u32 round ‖ str16 kind ‖ bytes32 from ‖ bytes16 epoch ‖ u64 seq ‖ bytes32len body
  const payload = cat(
    u8(version),
    SESSION_ID,
    u32(round),
    str16(kind),
    fromBytes,
    epoch,
    u64(seq),
    bytes32len(body),
  )
  const lib = encodePayload({ sessionId: SESSION_ID, round, kind, from: fromBytes, epoch, seq, body })
  lib[0] = version
  same('envelope payload', payload, lib)
  // signed = tag ‖ u32 len(payload) ‖ payload ‖ bytes32 recipient ‖ u64 timestamp
  const signedBytes = cat(TAG_ENVELOPE, bytes32len(payload), recipient, u64(s.timestamp))
  same('envelope signed bytes', signedBytes, libEnvelopeSignedBytes(payload, recipient, s.timestamp))
  const signatureInput = s.otherContext
    ? cat(TAG_HANDSHAKE, signedBytes.subarray(TAG_ENVELOPE.length))
    : undefined
  let signature: Uint8Array
  let signer: Party | undefined
  let signatureOrigin: BuiltUnit['signatureOrigin'] = 'sign'
  if (s.signer === 'forged') {
    // R = B, S = 1: [1]B = R + [k]A holds for the identity point A whatever k is.
    signature = cat(BASE_POINT, bigToLe(1n, 32))
    signatureOrigin = 'forged-identity-key'
  } else {
    const signerName = s.signer ?? s.from ?? 'alice'
    if (signerName === 'identity-point')
      throw new Error('no seed gives the identity point: use signer "forged"')
    signer = parties[signerName]
    const input = signatureInput ?? signedBytes
    signature = await backend.ed25519.sign(signer.key, input)
    same('Ed25519 signature', signature, ed25519.sign(input, signer.seed))
    if (s.sPlusL) {
      signature = cat(signature.subarray(0, 32), bigToLe(leToBig(signature.subarray(32)) + L, 32))
      signatureOrigin = 'sign-s-plus-l'
    }
  }
  const unit = cat(payload, recipient, u64(s.timestamp), signature)
  same('envelope unit', unit, encodeUnit(payload, recipient, s.timestamp, signature))
  return {
    fields: {
      version,
      sessionId: hex(SESSION_ID),
      round,
      kind,
      from: hex(fromBytes),
      epoch: hex(epoch),
      seq: seq.toString(),
      body: hex(body),
    },
    payload,
    recipient,
    timestamp: s.timestamp,
    signedBytes,
    signatureInput,
    signature,
    unit,
    signer,
    signatureOrigin,
  }
}

interface EnvelopeSpec extends UnitSpec {
  name: string
  description: string
  error?: ErrorCode
  now: bigint
  clockOffset?: bigint
  linkPeer?: Name | 'identity-point'
  participants?: (Name | 'identity-point')[]
  mutation?: (u: BuiltUnit) => Mutation
  seenBefore?: UnitSpec[]
}

const idOf = (n: Name | 'identity-point'): string =>
  n === 'identity-point' ? hex(IDENTITY_POINT) : parties[n].id

async function envelopeCase(spec: EnvelopeSpec): Promise<object> {
  const u = await buildUnit(spec)
  const mutation = spec.mutation?.(u)
  const wire = mutation ? mutate(u.unit, mutation) : u.unit
  const seen = spec.seenBefore ? await Promise.all(spec.seenBefore.map(buildUnit)) : undefined
  const participants = (spec.participants ?? PARTICIPANTS).map(idOf).sort()
  return {
    name: spec.name,
    description: spec.description,
    valid: spec.error === undefined,
    ...(spec.error ? { error: spec.error } : {}),
    publicKey: u.fields.from,
    ...(u.signer ? { secretKey: hex(u.signer.seed), signerPublicKey: hex(u.signer.publicKey) } : {}),
    signatureOrigin: u.signatureOrigin,
    fields: u.fields,
    payload: hex(u.payload),
    recipient: hex(u.recipient),
    timestamp: u.timestamp.toString(),
    signedBytes: hex(u.signedBytes),
    ...(u.signatureInput ? { signatureInput: hex(u.signatureInput) } : {}),
    signature: hex(u.signature),
    ...(mutation ? { mutation } : {}),
    unit: hex(wire),
    now: spec.now.toString(),
    clockOffset: (spec.clockOffset ?? 0n).toString(),
    receiver: bob.id,
    linkPeer: idOf(spec.linkPeer ?? spec.from ?? 'alice'),
    participants,
    ...(seen ? { seenBefore: seen.map((s) => hex(s.unit)) } : {}),
  }
}

/** Offset of the last body byte (the body ends the payload). */
const lastBodyByte = (u: BuiltUnit): number => u.payload.length - 1
/** Offset of a byte in the middle of S (the top bytes are untouched, so S stays below L). */
const midS = (u: BuiltUnit): number => u.unit.length - 24

const envelopeSpecs: EnvelopeSpec[] = [
  {
    name: 'valid: direct message',
    description: 'alice sends round 1 to bob over her own link; bob is the recipient.',
    to: 'bob',
    body: 'hello bob',
    timestamp: T0,
    now: T0 + 250n,
  },
  {
    name: 'valid: broadcast',
    description: 'recipient is 32 zero bytes: a broadcast to the session; bob is a participant.',
    to: 'broadcast',
    body: 'to everyone',
    timestamp: T0,
    now: T0 + 250n,
  },
  {
    name: 'valid: empty body',
    description: 'bytes32len body of length 0.',
    to: 'bob',
    body: '',
    timestamp: T0,
    now: T0,
  },
  {
    name: 'valid: sequence number above 2^53, multi-byte kind',
    description: 'seq = 2^53 + 1 (a decimal string); kind "sign/ρ" is 7 UTF-8 bytes (str16 counts bytes).',
    to: 'bob',
    round: 3,
    kind: 'sign/ρ',
    seq: 2n ** 53n + 1n,
    body: 'large seq',
    timestamp: T0,
    now: T0 - 1000n,
  },
  {
    name: 'valid: timestamp exactly 30 s behind the receiver',
    description: 'skew = 30000 ms is inside the window (|timestamp − (now + clockOffset)| ≤ 30000).',
    to: 'bob',
    timestamp: T0,
    now: T0 + 30_000n,
  },
  {
    name: 'valid: sender clock 60 s ahead, measured in its hello',
    description:
      "timestamp is 60 s ahead of the receiver's clock, but the offset measured from alice's hello is +60 s.",
    to: 'bob',
    timestamp: T0 + 60_000n,
    now: T0,
    clockOffset: 60_000n,
  },
  {
    name: 'valid: later unit of an accepted stream, outside the skew window',
    description:
      'freshness is checked only at the first unit of a stream: seq 0 was accepted at T0, seq 1 (timestamp T0+1 s) arrives 2 minutes later.',
    to: 'bob',
    seq: 1n,
    timestamp: T0 + 1000n,
    now: T0 + 120_000n,
    seenBefore: [{ to: 'bob', seq: 0n, timestamp: T0 }],
  },
  {
    name: 'tampered body',
    description: 'last body byte xor 0x01 after signing.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: (u) => ({ op: 'xor', offset: lastBodyByte(u), mask: '01' }),
  },
  {
    name: 'tampered signature',
    description: 'a byte in the middle of S xor 0x01 (S stays canonical; the equation fails).',
    error: 'ENVELOPE_BAD_SIGNATURE',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: (u) => ({ op: 'xor', offset: midS(u), mask: '01' }),
  },
  {
    name: 'tampered timestamp',
    description: 'the timestamp is signed too: its last byte xor 0x01 after signing.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: (u) => ({ op: 'xor', offset: u.unit.length - 65, mask: '01' }),
  },
  {
    name: 'wrong recipient',
    description: "alice signed it for carol; it reaches bob over alice's link.",
    error: 'ENVELOPE_WRONG_RECIPIENT',
    to: 'carol',
    timestamp: T0,
    now: T0,
  },
  {
    name: 'stale: 31 s old',
    description: 'first unit of its stream, 31 s behind the receiver (clock offset 0).',
    error: 'ENVELOPE_STALE',
    to: 'bob',
    timestamp: T0,
    now: T0 + 31_000n,
  },
  {
    name: 'stale: 31 s in the future',
    description: 'first unit of its stream, 31 s ahead of the receiver (clock offset 0).',
    error: 'ENVELOPE_STALE',
    to: 'bob',
    timestamp: T0 + 31_000n,
    now: T0,
  },
  {
    name: 'stale: fresh by the receiver clock, not after the measured offset',
    description: "timestamp equals the receiver's clock, but alice's hello showed her clock 60 s ahead.",
    error: 'ENVELOPE_STALE',
    to: 'bob',
    timestamp: T0,
    now: T0,
    clockOffset: 60_000n,
  },
  {
    name: 'replay: the same unit again',
    description: 'the identical unit was accepted before.',
    error: 'ENVELOPE_REPLAY',
    to: 'bob',
    timestamp: T0,
    now: T0 + 500n,
    seenBefore: [{ to: 'bob', timestamp: T0 }],
  },
  {
    name: 'replay: same sequence number, another body',
    description:
      'a validly signed unit whose (sessionId, from, to, epoch, seq) was accepted before with another body.',
    error: 'ENVELOPE_REPLAY',
    to: 'bob',
    body: 'second version',
    timestamp: T0 + 100n,
    now: T0 + 500n,
    seenBefore: [{ to: 'bob', body: 'first version', timestamp: T0 }],
  },
  {
    name: 'replay: ten minutes later is a replay, not stale',
    description: 'the stream is known, so freshness is not checked again; the replay check refuses it.',
    error: 'ENVELOPE_REPLAY',
    to: 'bob',
    timestamp: T0,
    now: T0 + 600_000n,
    seenBefore: [{ to: 'bob', timestamp: T0 }],
  },
  {
    name: 'unknown version',
    description: 'version byte 2, correctly signed over the version-2 payload: the decoder must refuse it.',
    error: 'DECODE_UNKNOWN_VERSION',
    version: 2,
    to: 'bob',
    timestamp: T0,
    now: T0,
  },
  {
    name: 'truncated: last signature byte missing',
    description: 'the unit minus its last byte.',
    error: 'DECODE_SHORT_INPUT',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: (u) => ({ op: 'truncate', length: u.unit.length - 1 }),
  },
  {
    name: 'truncated: inside the payload',
    description: 'the first 50 bytes only (cut inside `from`).',
    error: 'DECODE_SHORT_INPUT',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: () => ({ op: 'truncate', length: 50 }),
  },
  {
    name: 'truncated: empty input',
    description: 'zero bytes.',
    error: 'DECODE_SHORT_INPUT',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: () => ({ op: 'truncate', length: 0 }),
  },
  {
    name: 'trailing byte',
    description: 'one zero byte after the signature.',
    error: 'DECODE_TRAILING_BYTES',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: () => ({ op: 'append', bytes: '00' }),
  },
  {
    name: 'wrong key: signed by mallory, from says alice',
    description: "mallory's key signed the exact signed bytes of a unit whose `from` is alice.",
    error: 'ENVELOPE_BAD_SIGNATURE',
    signer: 'mallory',
    to: 'bob',
    timestamp: T0,
    now: T0,
  },
  {
    name: "arrived over another party's link",
    description: "a genuine unit from alice, forwarded by carol over carol's authenticated link.",
    error: 'ENVELOPE_WRONG_SENDER',
    to: 'bob',
    timestamp: T0,
    now: T0,
    linkPeer: 'carol',
  },
  {
    name: 'sender not a participant',
    description: 'mallory signs her own unit and sends it over her own link, but she is not in the session.',
    error: 'ENVELOPE_NOT_PARTICIPANT',
    from: 'mallory',
    to: 'bob',
    timestamp: T0,
    now: T0,
  },
  {
    name: 'non-canonical S (S + L)',
    description:
      'a valid signature with L added to S: S ≥ L must be refused (the cofactorless equation alone would hold).',
    error: 'ENVELOPE_BAD_SIGNATURE',
    to: 'bob',
    timestamp: T0,
    now: T0,
    sPlusL: true,
  },
  {
    name: 'small-order key as from',
    description:
      'from = the identity point (01 00…00, order 1) with R = B, S = 1, which satisfies [S]B = R + [k]A for any message; the strict rule refuses small-order keys. Link peer and participant list name that key so that the signature check is reached (a real handshake would refuse it).',
    error: 'ENVELOPE_BAD_SIGNATURE',
    from: 'identity-point',
    signer: 'forged',
    to: 'bob',
    timestamp: T0,
    now: T0,
    linkPeer: 'identity-point',
    participants: ['alice', 'bob', 'carol', 'identity-point'],
  },
  {
    name: 'signature made in another context',
    description:
      'alice\'s key signed the same bytes after the handshake tag ("conclave/v1/handshake" 0x00) instead of the envelope tag.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    to: 'bob',
    timestamp: T0,
    now: T0,
    otherContext: true,
  },
  {
    name: "order: another party's link and a tampered body",
    description: 'the sender check comes before the signature check.',
    error: 'ENVELOPE_WRONG_SENDER',
    to: 'bob',
    timestamp: T0,
    now: T0,
    linkPeer: 'carol',
    mutation: (u) => ({ op: 'xor', offset: lastBodyByte(u), mask: '01' }),
  },
  {
    name: 'order: not a participant and a bad signature',
    description: 'the participant check comes before the signature check.',
    error: 'ENVELOPE_NOT_PARTICIPANT',
    from: 'mallory',
    to: 'bob',
    timestamp: T0,
    now: T0,
    mutation: (u) => ({ op: 'xor', offset: midS(u), mask: '01' }),
  },
  {
    name: 'order: bad signature and stale',
    description: 'the signature check comes before the recipient and freshness checks.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    to: 'carol',
    timestamp: T0,
    now: T0 + 31_000n,
    mutation: (u) => ({ op: 'xor', offset: midS(u), mask: '01' }),
  },
  {
    name: 'order: wrong recipient and stale',
    description: 'the recipient check comes before freshness.',
    error: 'ENVELOPE_WRONG_RECIPIENT',
    to: 'carol',
    timestamp: T0,
    now: T0 + 31_000n,
  },
  {
    name: 'order: truncated and from another link',
    description: 'decoding comes first.',
    error: 'DECODE_SHORT_INPUT',
    to: 'bob',
    timestamp: T0,
    now: T0,
    linkPeer: 'carol',
    mutation: (u) => ({ op: 'truncate', length: u.unit.length - 1 }),
  },
]

const envelopeCases: object[] = []
for (const spec of envelopeSpecs) envelopeCases.push(await envelopeCase(spec))

// ── batch.json ──────────────────────────────────────────────────────────────────────────

const TAG_BATCH = tag('conclave/batch/v1')
/** First byte of a batch unit (an envelope unit starts with its version, 1). */
const MARKER = 0x80

/** One envelope of a batch: a unit spec without a signature of its own. */
interface ItemSpec extends Omit<UnitSpec, 'signer' | 'sPlusL' | 'otherContext' | 'version' | 'from'> {
  from?: Name
  /** The item's u32 declares `len(payload) + lengthDelta` (the bad-length cases). */
  lengthDelta?: number
}

interface BuiltItem {
  u: BuiltUnit
  /** The u32 the item declares. */
  declared: number
  /** `u32 declared ‖ payload ‖ bytes32 recipient ‖ u64 timestamp`. */
  item: Uint8Array
  /** `"conclave/msg/v1" 0x00 ‖ item`: the envelope's signed bytes when `declared` is honest. */
  signedBytes: Uint8Array
  /** SHA-256(signedBytes). */
  digest: Uint8Array
}

async function buildItem(s: ItemSpec): Promise<BuiltItem> {
  // the envelope's own signature (made by buildUnit) is not used: a batch carries one signature
  const u = await buildUnit(s)
  const declared = u.payload.length + (s.lengthDelta ?? 0)
  const item = cat(u32(declared), u.payload, u.recipient, u64(u.timestamp))
  const signedBytes = cat(TAG_ENVELOPE, item)
  if (declared === u.payload.length) same('tag ‖ item = envelope signed bytes', signedBytes, u.signedBytes)
  return { u, declared, item, signedBytes, digest: sha256(signedBytes) }
}

/** `"conclave/batch/v1" 0x00 ‖ u32 n ‖ digest_1 ‖ … ‖ digest_n`. */
function batchSigned(items: readonly BuiltItem[]): Uint8Array {
  const digests = cat(...items.map((i) => i.digest))
  const out = cat(TAG_BATCH, u32(items.length), digests)
  same('batch signed bytes', out, libBatchSignedBytes(digests))
  return out
}

interface BatchUnitSpec {
  items: ItemSpec[]
  /** Who signs (default: the first item's sender). */
  signer?: Name
  /** The header's count when it is not the number of items. */
  count?: number
  /** What the signer signed instead of the batch's signed bytes (default: those). */
  sign?:
    | { over: ItemSpec[] } // the batch signed bytes of other items (or the same in another order)
    | 'envelope-context' // the batch's signed bytes with the envelope tag in place of the batch tag
    | 'first-envelope' // the first item's envelope signed bytes: its signature had it been sent alone
  /** Add L to S after signing. */
  sPlusL?: boolean
}

interface BuiltBatch {
  items: BuiltItem[]
  count: number
  signedBytes: Uint8Array
  signatureInput: Uint8Array | undefined
  signer: Party
  signature: Uint8Array
  /** `u8 0x80 ‖ u16 count ‖ item_1 ‖ … ‖ item_n ‖ signature`. */
  batch: Uint8Array
}

async function buildBatch(s: BatchUnitSpec): Promise<BuiltBatch> {
  const items = await Promise.all(s.items.map(buildItem))
  const count = s.count ?? items.length
  const signedBytes = batchSigned(items)
  let signatureInput: Uint8Array | undefined
  if (s.sign === 'envelope-context')
    signatureInput = cat(TAG_ENVELOPE, signedBytes.subarray(TAG_BATCH.length))
  else if (s.sign === 'first-envelope') signatureInput = items[0]!.signedBytes
  else if (s.sign) signatureInput = batchSigned(await Promise.all(s.sign.over.map(buildItem)))
  if (signatureInput && hex(signatureInput) === hex(signedBytes))
    throw new Error('signatureInput = signedBytes')
  const signer = parties[s.signer ?? s.items[0]?.from ?? 'alice']
  const input = signatureInput ?? signedBytes
  let signature = await backend.ed25519.sign(signer.key, input)
  same('Ed25519 signature', signature, ed25519.sign(input, signer.seed))
  if (s.sPlusL) signature = cat(signature.subarray(0, 32), bigToLe(leToBig(signature.subarray(32)) + L, 32))
  const batch = cat(u8(MARKER), u16(count), ...items.map((i) => i.item), signature)
  // the package's encoder writes honest lengths and counts: compare with those put back
  const honest = cat(
    u8(MARKER),
    u16(items.length),
    ...items.map((i) => cat(bytes32len(i.u.payload), i.u.recipient, u64(i.u.timestamp))),
    signature,
  )
  const libItems = items.map((i) => ({
    payload: i.u.payload,
    recipient: i.u.recipient,
    timestamp: i.u.timestamp,
  }))
  if (items.length >= 2) same('batch', honest, encodeFullBatch(libItems, signature))
  else if (errorCodeOf(() => encodeFullBatch(libItems, signature)) !== 'INVALID_ARGUMENT')
    throw new Error('encodeFullBatch accepted a batch of one')
  return { items, count, signedBytes, signatureInput, signer, signature, batch }
}

function errorCodeOf(f: () => unknown): ErrorCode | undefined {
  try {
    f()
    return undefined
  } catch (e) {
    return errorCode(e)
  }
}

/** A verdict written by hand: accepted, or the code of the refusal. */
type Verdict = 'accepted' | ErrorCode

interface BatchSpec extends BatchUnitSpec {
  name: string
  description: string
  /** The batch as a whole is refused with this code (before any envelope is delivered). */
  error?: ErrorCode
  /** The batch passes decode, sender and signature: each envelope's verdict, in order. */
  verdicts?: Verdict[]
  now: bigint
  clockOffset?: bigint
  linkPeer?: Name
  participants?: Name[]
  mutation?: (b: BuiltBatch) => Mutation
  /** Units accepted before: single envelopes, or honest batches. */
  seenBefore?: (UnitSpec | { batch: ItemSpec[] })[]
}

/**
 * The compact form of an honest batch (DESIGN "Batch"), written from the layout with the
 * payload's fields at their DESIGN offsets: `u8 0x81 ‖ u16 n ‖ u8 version ‖ from ‖ recipient ‖
 * citem_1 … citem_n ‖ signature`, each citem `u8 flags ‖ [sessionId] ‖ [epoch] ‖ [round] ‖
 * [kind] ‖ [seq] ‖ [timestamp] ‖ bytes32len body`. None when the batch can't be compact (fewer
 * than two items, a dishonest count or length, two senders or two recipients).
 */
function compactOf(b: BuiltBatch): Uint8Array | undefined {
  const its = b.items
  if (its.length < 2 || b.count !== its.length || its.some((i) => i.declared !== i.u.payload.length)) return
  const fields = its.map(({ u }) => {
    const p = u.payload
    const f = 39 + ((p[37]! << 8) | p[38]!)
    return {
      version: p.subarray(0, 1),
      sessionId: p.subarray(1, 33),
      round: p.subarray(33, 37),
      kind: p.subarray(37, f),
      from: p.subarray(f, f + 32),
      epoch: p.subarray(f + 32, f + 48),
      seq: p.subarray(f + 48, f + 56),
      body: p.subarray(f + 56),
      recipient: u.recipient,
      timestamp: u64(u.timestamp),
    }
  })
  const first = fields[0]!
  if (fields.some((x) => hex(x.from) !== hex(first.from) || hex(x.recipient) !== hex(first.recipient))) return
  const parts = [u8(0x81), u16(its.length), first.version, first.from, first.recipient]
  let prev: (typeof fields)[number] | undefined
  for (const x of fields) {
    const same = (k: 'sessionId' | 'epoch' | 'round' | 'kind' | 'timestamp'): boolean =>
      prev !== undefined && hex(x[k]) === hex(prev[k])
    const next =
      prev !== undefined && leToBig(x.seq.slice().reverse()) === leToBig(prev.seq.slice().reverse()) + 1n
    const flags =
      (same('sessionId') ? 0x01 : 0) |
      (same('epoch') ? 0x02 : 0) |
      (same('round') ? 0x04 : 0) |
      (same('kind') ? 0x08 : 0) |
      (next ? 0x10 : 0) |
      (same('timestamp') ? 0x20 : 0)
    parts.push(u8(flags))
    if (!(flags & 0x01)) parts.push(x.sessionId)
    if (!(flags & 0x02)) parts.push(x.epoch)
    if (!(flags & 0x04)) parts.push(x.round)
    if (!(flags & 0x08)) parts.push(x.kind)
    if (!(flags & 0x10)) parts.push(x.seq)
    if (!(flags & 0x20)) parts.push(x.timestamp)
    parts.push(x.body)
    prev = x
  }
  const out = cat(...parts, b.signature)
  const lib = libEncodeBatch(
    its.map((i) => ({ payload: i.u.payload, recipient: i.u.recipient, timestamp: i.u.timestamp })),
    b.signature,
  )
  same('compact batch', out, lib)
  return out
}

async function batchCase(spec: BatchSpec): Promise<object> {
  if ((spec.error === undefined) === (spec.verdicts === undefined))
    throw new Error(`${spec.name}: give exactly one of error and verdicts`)
  if (spec.verdicts && spec.verdicts.length !== spec.items.length)
    throw new Error(`${spec.name}: one verdict per envelope`)
  const b = await buildBatch(spec)
  const mutation = spec.mutation?.(b)
  const wire = mutation ? mutate(b.batch, mutation) : b.batch
  const compact = mutation ? undefined : compactOf(b)
  const seen: Uint8Array[] = []
  for (const s of spec.seenBefore ?? [])
    seen.push('batch' in s ? (await buildBatch({ items: s.batch })).batch : (await buildUnit(s)).unit)
  const linkPeer = parties[spec.linkPeer ?? spec.items[0]?.from ?? 'alice']
  const error = spec.error ?? spec.verdicts!.find((v): v is ErrorCode => v !== 'accepted')
  return {
    name: spec.name,
    description: spec.description,
    valid: error === undefined,
    ...(error ? { error } : {}),
    publicKey: linkPeer.id,
    secretKey: hex(b.signer.seed),
    signerPublicKey: hex(b.signer.publicKey),
    signatureOrigin: spec.sPlusL ? 'sign-s-plus-l' : 'sign',
    ...(b.count !== b.items.length ? { count: b.count } : {}),
    envelopes: b.items.map((i) => ({
      fields: i.u.fields,
      payload: hex(i.u.payload),
      recipient: hex(i.u.recipient),
      timestamp: i.u.timestamp.toString(),
      ...(i.declared !== i.u.payload.length ? { declaredLength: i.declared } : {}),
      item: hex(i.item),
      signedBytes: hex(i.signedBytes),
      digest: hex(i.digest),
    })),
    signedBytes: hex(b.signedBytes),
    ...(b.signatureInput ? { signatureInput: hex(b.signatureInput) } : {}),
    signature: hex(b.signature),
    ...(mutation ? { mutation } : {}),
    batch: hex(wire),
    ...(compact ? { compact: hex(compact) } : {}),
    now: spec.now.toString(),
    clockOffset: (spec.clockOffset ?? 0n).toString(),
    receiver: bob.id,
    linkPeer: linkPeer.id,
    participants: (spec.participants ?? PARTICIPANTS).map(idOf).sort(),
    ...(seen.length > 0 ? { seenBefore: seen.map(hex) } : {}),
    ...(spec.verdicts ? { verdicts: spec.verdicts } : {}),
  }
}

/** Offset of item `i` in a batch (after the 3-byte header). */
const itemOffset = (b: BuiltBatch, i: number): number =>
  3 + b.items.slice(0, i).reduce((n, it) => n + it.item.length, 0)
/** Offset of the last body byte of item `i` (the body ends the payload). */
const lastBodyByteOf = (b: BuiltBatch, i: number): number =>
  itemOffset(b, i) + 4 + b.items[i]!.u.payload.length - 1
/** Offset of a byte in the middle of S (the top bytes are untouched, so S stays below L). */
const batchMidS = (b: BuiltBatch): number => b.batch.length - 24

/** Two direct envelopes alice → bob, seq 0 and 1, at T0. */
const two = (over: Partial<ItemSpec>[] = []): ItemSpec[] => [
  { to: 'bob', seq: 0n, body: 'first', timestamp: T0, ...over[0] },
  { to: 'bob', seq: 1n, body: 'second', timestamp: T0, ...over[1] },
]

const batchSpecs: BatchSpec[] = [
  {
    name: 'valid: two direct envelopes',
    description: 'alice batches two round-1 envelopes to bob (seq 0 and 1) and sends them over her own link.',
    items: two(),
    now: T0 + 250n,
    verdicts: ['accepted', 'accepted'],
  },
  {
    name: 'valid: three direct envelopes',
    description:
      'three envelopes of two rounds and two kinds, one with an empty body, timestamps 1 ms apart; delivered in this order.',
    items: [
      { to: 'bob', round: 1, seq: 0n, body: 'round one', timestamp: T0 },
      { to: 'bob', round: 2, kind: 'commit', seq: 1n, body: '', timestamp: T0 + 1n },
      { to: 'bob', round: 2, seq: 2n, body: 'round two', timestamp: T0 + 2n },
    ],
    now: T0 + 250n,
    verdicts: ['accepted', 'accepted', 'accepted'],
  },
  {
    name: 'valid: the first envelope opens the stream, the second is 45 s later',
    description:
      'freshness is checked at the first unit of a stream: the first envelope (timestamp T0) is fresh and opens it, so the second (T0 + 45 s) is not checked again.',
    items: two([{}, { timestamp: T0 + 45_000n }]),
    now: T0,
    verdicts: ['accepted', 'accepted'],
  },
  {
    name: 'forged: signed over other digests',
    description:
      'alice\'s batch signature is over the digests of the first envelope and of another second envelope (body "other"); the batch carries the real second envelope.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    sign: { over: two([{}, { body: 'other' }]) },
    now: T0,
  },
  {
    name: 'items reordered after signing',
    description:
      'alice signed items 1, 2, 3; the batch carries them as 2, 1, 3 (same n, same digests, another order).',
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: [
      { to: 'bob', seq: 1n, body: 'b', timestamp: T0 },
      { to: 'bob', seq: 0n, body: 'a', timestamp: T0 },
      { to: 'bob', seq: 2n, body: 'c', timestamp: T0 },
    ],
    sign: {
      over: [
        { to: 'bob', seq: 0n, body: 'a', timestamp: T0 },
        { to: 'bob', seq: 1n, body: 'b', timestamp: T0 },
        { to: 'bob', seq: 2n, body: 'c', timestamp: T0 },
      ],
    },
    now: T0,
  },
  {
    name: 'wrong key: mallory signs a batch of envelopes from alice',
    description:
      "mallory's key signed the exact batch signed bytes of two envelopes whose `from` is alice; it arrives over alice's link.",
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    signer: 'mallory',
    now: T0,
  },
  {
    name: 'tampered body after signing',
    description: 'the last body byte of the second envelope xor 0x01 after signing.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    now: T0,
    mutation: (b) => ({ op: 'xor', offset: lastBodyByteOf(b, 1), mask: '01' }),
  },
  {
    name: 'tampered signature',
    description: 'a byte in the middle of S xor 0x01 (S stays canonical; the equation fails).',
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    now: T0,
    mutation: (b) => ({ op: 'xor', offset: batchMidS(b), mask: '01' }),
  },
  {
    name: 'non-canonical S (S + L)',
    description: "alice's valid batch signature with L added to S: S ≥ L must be refused.",
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    sPlusL: true,
    now: T0,
  },
  {
    name: 'context confusion: signed in the envelope context',
    description:
      'alice signed `"conclave/msg/v1" 0x00 ‖ u32 n ‖ digest_1 ‖ … ‖ digest_n`: the batch\'s signed bytes with the envelope tag instead of the batch tag.',
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    sign: 'envelope-context',
    now: T0,
  },
  {
    name: "context confusion: the first envelope's own signature",
    description:
      "the batch carries alice's envelope signature of its first item (the signature that envelope would have had if sent alone), not a batch signature.",
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two(),
    sign: 'first-envelope',
    now: T0,
  },
  {
    name: 'an envelope from another sender inside',
    description:
      "the second envelope is carol's (its `from` and epoch are carol's); alice signs the batch over both digests and sends it over her link.",
    error: 'ENVELOPE_WRONG_SENDER',
    items: two([{}, { from: 'carol', seq: 0n }]),
    signer: 'alice',
    linkPeer: 'alice',
    now: T0,
  },
  {
    name: "a genuine batch over another party's link",
    description: "alice's honest batch, forwarded by carol over carol's authenticated link.",
    error: 'ENVELOPE_WRONG_SENDER',
    items: two(),
    linkPeer: 'carol',
    now: T0,
  },
  {
    name: 'a broadcast inside',
    description:
      'the second item is a broadcast (recipient = 32 zero bytes), honestly signed: a batch holds direct envelopes only.',
    error: 'ENVELOPE_WRONG_RECIPIENT',
    items: two([{}, { to: 'broadcast' }]),
    now: T0,
  },
  {
    name: 'count 1',
    description: 'a batch of one envelope, signed over its one digest (u32 n = 1): n must be 2 to 1024.',
    error: 'DECODE_BAD_LENGTH',
    items: [{ to: 'bob', body: 'alone', timestamp: T0 }],
    now: T0,
  },
  {
    name: 'count 0',
    description: "the header says 0 over alice's two honestly signed items.",
    error: 'DECODE_BAD_LENGTH',
    items: two(),
    count: 0,
    now: T0,
  },
  {
    name: 'count 1025',
    description:
      "the header says 1025 (04 01) over alice's two honestly signed items: over 1024, refused when the count is read.",
    error: 'DECODE_BAD_LENGTH',
    items: two(),
    count: 1025,
    now: T0,
  },
  {
    name: 'count larger than the items present',
    description: 'the header says 3; the input ends after the second item (no third item, no signature).',
    error: 'DECODE_SHORT_INPUT',
    items: two(),
    count: 3,
    now: T0,
    mutation: (b) => ({ op: 'truncate', length: itemOffset(b, 2) }),
  },
  {
    name: 'truncated: last signature byte missing',
    description: 'the batch minus its last byte.',
    error: 'DECODE_SHORT_INPUT',
    items: two(),
    now: T0,
    mutation: (b) => ({ op: 'truncate', length: b.batch.length - 1 }),
  },
  {
    name: 'truncated: marker and count only',
    description: 'the first 3 bytes (80 00 02).',
    error: 'DECODE_SHORT_INPUT',
    items: two(),
    now: T0,
    mutation: () => ({ op: 'truncate', length: 3 }),
  },
  {
    name: 'trailing byte',
    description: 'one zero byte after the signature.',
    error: 'DECODE_TRAILING_BYTES',
    items: two(),
    now: T0,
    mutation: () => ({ op: 'append', bytes: '00' }),
  },
  {
    name: 'declared payload length one more than the payload',
    description:
      "the second item's u32 says len(payload) + 1 while the payload's own fields end one byte earlier; signed over the items as sent, so only the length rule refuses it.",
    error: 'DECODE_BAD_LENGTH',
    items: two([{}, { lengthDelta: 1 }]),
    now: T0,
  },
  {
    name: 'declared payload length one less than the payload',
    description: "the first item's u32 says len(payload) − 1; signed over the items as sent.",
    error: 'DECODE_BAD_LENGTH',
    items: two([{ lengthDelta: -1 }, {}]),
    now: T0,
  },
  {
    name: 'second envelope addressed to carol',
    description:
      'the batch verifies; then each envelope alone: the first is for bob, the second (signed by alice for carol) is refused.',
    items: two([{}, { to: 'carol' }]),
    now: T0,
    verdicts: ['accepted', 'ENVELOPE_WRONG_RECIPIENT'],
  },
  {
    name: 'stale batch: 31 s old',
    description: 'both envelopes 31 s behind the receiver: the stream is never opened, so each is stale.',
    items: two(),
    now: T0 + 31_000n,
    verdicts: ['ENVELOPE_STALE', 'ENVELOPE_STALE'],
  },
  {
    name: 'first envelope stale, the second fresh',
    description:
      'the first envelope (T0 − 31 s) is stale and does not open the stream; the second (T0) is checked and fresh.',
    items: two([{ timestamp: T0 - 31_000n }, {}]),
    now: T0,
    verdicts: ['ENVELOPE_STALE', 'accepted'],
  },
  {
    name: 'the same sequence number twice in one batch',
    description: 'both envelopes have seq 0 (other bodies): the second is a replay of the first.',
    items: two([{}, { seq: 0n }]),
    now: T0,
    verdicts: ['accepted', 'ENVELOPE_REPLAY'],
  },
  {
    name: 'the whole batch again',
    description: 'the identical batch was accepted before: every envelope is a replay.',
    items: two(),
    now: T0 + 500n,
    seenBefore: [{ batch: two() }],
    verdicts: ['ENVELOPE_REPLAY', 'ENVELOPE_REPLAY'],
  },
  {
    name: 'an envelope accepted alone, again inside a batch',
    description:
      'seq 0 was accepted as a single envelope; a batch of seq 0 and seq 1 follows: batches and single units share the replay state.',
    items: two(),
    now: T0 + 500n,
    seenBefore: [{ to: 'bob', seq: 0n, body: 'first', timestamp: T0 }],
    verdicts: ['ENVELOPE_REPLAY', 'accepted'],
  },
  {
    name: 'sender not a participant',
    description:
      'mallory signs her own batch and sends it over her own link; it verifies, then each envelope is refused (the participant check comes after the batch signature).',
    items: two([{ from: 'mallory' }, { from: 'mallory' }]),
    now: T0,
    verdicts: ['ENVELOPE_NOT_PARTICIPANT', 'ENVELOPE_NOT_PARTICIPANT'],
  },
  {
    name: 'order: another sender inside and a bad signature',
    description: 'the sender check comes before the signature check.',
    error: 'ENVELOPE_WRONG_SENDER',
    items: two([{}, { from: 'carol', seq: 0n }]),
    signer: 'alice',
    linkPeer: 'alice',
    now: T0,
    mutation: (b) => ({ op: 'xor', offset: batchMidS(b), mask: '01' }),
  },
  {
    name: 'order: not a participant and a bad signature',
    description:
      "mallory's batch with a tampered S: in a batch the signature is checked before the envelopes' participant check.",
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two([{ from: 'mallory' }, { from: 'mallory' }]),
    now: T0,
    mutation: (b) => ({ op: 'xor', offset: batchMidS(b), mask: '01' }),
  },
  {
    name: 'order: bad signature, wrong recipient and stale',
    description:
      "the signature check comes before the envelopes' recipient and freshness checks; nothing is delivered.",
    error: 'ENVELOPE_BAD_SIGNATURE',
    items: two([{}, { to: 'carol' }]),
    now: T0 + 31_000n,
    mutation: (b) => ({ op: 'xor', offset: batchMidS(b), mask: '01' }),
  },
  {
    name: 'order: a broadcast inside and another sender inside',
    description:
      'the first item is from carol, the second a broadcast: a broadcast is refused while decoding, before the sender check.',
    error: 'ENVELOPE_WRONG_RECIPIENT',
    items: [
      { from: 'carol', to: 'bob', seq: 0n, body: 'first', timestamp: T0 },
      { to: 'broadcast', seq: 1n, body: 'second', timestamp: T0 },
    ],
    signer: 'alice',
    linkPeer: 'alice',
    now: T0,
  },
  {
    name: "order: truncated and over another party's link",
    description: 'decoding comes first.',
    error: 'DECODE_SHORT_INPUT',
    items: two(),
    linkPeer: 'carol',
    now: T0,
    mutation: (b) => ({ op: 'truncate', length: b.batch.length - 1 }),
  },
]

const batchCases: object[] = []
for (const spec of batchSpecs) batchCases.push(await batchCase(spec))

// ── frame.json ──────────────────────────────────────────────────────────────────────────

const FRAME_KEY = label('frame key')
const OTHER_KEY = label('frame other key')
const FRAME_DATA = 2
const REC = { unit: 1, chunk: 2, ack: 3, ping: 4, pong: 5, close: 6, resume: 7 } as const

type RecordJson =
  | { type: 'unit'; unit: string }
  | { type: 'chunk'; messageId: number; total: number; offset: number; data: string }
  | { type: 'ack'; seq: string }
  | { type: 'resume'; seq: string }
  | { type: 'ping'; value: string }
  | { type: 'pong'; value: string }
  | { type: 'close'; code: string; reason: string }

/** record = u8 type ‖ u32 length ‖ body */
function encodeRecordJson(r: RecordJson): Uint8Array {
  const body = (() => {
    switch (r.type) {
      case 'unit':
        return fromHex(r.unit)
      case 'chunk':
        return cat(u32(r.messageId), u32(r.total), u32(r.offset), fromHex(r.data))
      case 'ack':
      case 'resume':
        return u64(BigInt(r.seq))
      case 'ping':
      case 'pong':
        return u64(BigInt(r.value))
      case 'close':
        return cat(str16(r.code), str16(r.reason))
    }
  })()
  return cat(u8(REC[r.type]), bytes32len(body))
}

function toLibRecord(r: RecordJson): FrameRecord {
  switch (r.type) {
    case 'unit':
      return { type: REC.unit, unit: fromHex(r.unit) }
    case 'chunk':
      return { ...r, type: REC.chunk, data: fromHex(r.data) }
    case 'ack':
      return { type: REC.ack, seq: BigInt(r.seq) }
    case 'resume':
      return { type: REC.resume, seq: BigInt(r.seq) }
    case 'ping':
      return { type: REC.ping, value: BigInt(r.value) }
    case 'pong':
      return { type: REC.pong, value: BigInt(r.value) }
    case 'close':
      return { type: REC.close, code: r.code, reason: r.reason }
  }
}

interface FrameSpec {
  name: string
  description: string
  error?: ErrorCode
  counter: bigint
  expectedCounter?: bigint
  records?: RecordJson[]
  /** Raw plaintext when records cannot describe it. */
  plaintext?: Uint8Array
  sealKey?: Uint8Array
  mutation?: (frame: Uint8Array) => Mutation
  /** Units handed up (valid cases). */
  delivered?: Uint8Array[]
}

function frameCase(s: FrameSpec): object {
  const plaintext = s.records ? cat(...s.records.map(encodeRecordJson)) : s.plaintext!
  if (s.records) same('frame records', plaintext, encodeRecords(s.records.map(toLibRecord)))
  // nonce = 0x00000000 ‖ u64 counter; aad = header = u8 type ‖ u64 counter
  const nonce = cat(new Uint8Array(4), u64(s.counter))
  const aad = cat(u8(FRAME_DATA), u64(s.counter))
  same('frame nonce', nonce, libFrameNonce(s.counter))
  same('frame header', aad, encodeFrameHeader(FRAME_DATA, s.counter))
  const sealed = nobleAead.seal(s.sealKey ?? FRAME_KEY, nonce, aad, plaintext)
  const honest = cat(aad, sealed)
  const mutation = s.mutation?.(honest)
  const frame = mutation ? mutate(honest, mutation) : honest
  return {
    name: s.name,
    description: s.description,
    valid: s.error === undefined,
    ...(s.error ? { error: s.error } : {}),
    key: hex(FRAME_KEY),
    ...(s.sealKey ? { sealKey: hex(s.sealKey) } : {}),
    counter: s.counter.toString(),
    expectedCounter: (s.expectedCounter ?? s.counter).toString(),
    ...(s.records ? { records: s.records } : {}),
    plaintext: hex(plaintext),
    nonce: hex(nonce),
    aad: hex(aad),
    ...(mutation ? { mutation } : {}),
    frame: hex(frame),
    ...(s.error === undefined ? { delivered: (s.delivered ?? []).map(hex) } : {}),
  }
}

const sampleUnit = (envelopeCases[0] as { unit: string }).unit
const sampleUnitBytes = fromHex(sampleUnit)
const split = 100
const chunkA: RecordJson = {
  type: 'chunk',
  messageId: 7,
  total: sampleUnitBytes.length,
  offset: 0,
  data: hex(sampleUnitBytes.subarray(0, split)),
}
const chunkB: RecordJson = {
  type: 'chunk',
  messageId: 7,
  total: sampleUnitBytes.length,
  offset: split,
  data: hex(sampleUnitBytes.subarray(split)),
}
const ping: RecordJson = { type: 'ping', value: T0.toString() }

const frameSpecs: FrameSpec[] = [
  {
    name: 'valid: one unit record',
    description:
      "the first frame of a direction (counter 0) carrying the 'valid: direct message' envelope unit.",
    counter: 0n,
    records: [{ type: 'unit', unit: sampleUnit }],
    delivered: [sampleUnitBytes],
  },
  {
    name: 'valid: coalesced records',
    description: 'a resume (the next unit is delivery number 3), a unit, an ack and a ping in one frame.',
    counter: 1n,
    records: [
      { type: 'resume', seq: '3' },
      { type: 'unit', unit: sampleUnit },
      { type: 'ack', seq: '7' },
      ping,
    ],
    delivered: [sampleUnitBytes],
  },
  {
    name: 'valid: pong and close',
    description: 'close = str16 code ‖ str16 reason (UTF-8).',
    counter: 2n,
    records: [
      { type: 'pong', value: T0.toString() },
      { type: 'close', code: 'LINK_CLOSED', reason: 'au revoir ✓' },
    ],
  },
  {
    name: 'valid: counter above 2^53',
    description: 'counter 2^53 + 1 in the header and in the nonce.',
    counter: 2n ** 53n + 1n,
    records: [ping],
  },
  {
    name: 'valid: a unit in two chunks',
    description: 'chunks of message 7 at offsets 0 and 100 complete the unit: the reassembler hands it up.',
    counter: 3n,
    records: [chunkA, chunkB],
    delivered: [sampleUnitBytes],
  },
  {
    name: 'valid: first chunk only',
    description: 'the first piece of a chunked unit: nothing is handed up yet.',
    counter: 3n,
    records: [chunkA],
  },
  {
    name: 'tampered ciphertext',
    description: 'first ciphertext byte xor 0x01.',
    error: 'FRAME_DECRYPT_FAILED',
    counter: 4n,
    records: [ping],
    mutation: () => ({ op: 'xor', offset: 9, mask: '01' }),
  },
  {
    name: 'tampered tag',
    description: 'last tag byte xor 0x01.',
    error: 'FRAME_DECRYPT_FAILED',
    counter: 4n,
    records: [ping],
    mutation: (f) => ({ op: 'xor', offset: f.length - 1, mask: '01' }),
  },
  {
    name: 'tampered header',
    description:
      'sealed at counter 4, header counter changed to 5, and the receiver expects 5: the counter check passes and the AEAD (header = associated data, counter = nonce) refuses it.',
    error: 'FRAME_DECRYPT_FAILED',
    counter: 4n,
    expectedCounter: 5n,
    records: [ping],
    mutation: () => ({ op: 'xor', offset: 8, mask: '01' }),
  },
  {
    name: 'wrong counter: a frame skipped',
    description: 'counter 5 where 4 is expected.',
    error: 'FRAME_BAD_COUNTER',
    counter: 5n,
    expectedCounter: 4n,
    records: [ping],
  },
  {
    name: 'wrong counter: a frame replayed',
    description: 'counter 3 where 4 is expected.',
    error: 'FRAME_BAD_COUNTER',
    counter: 3n,
    expectedCounter: 4n,
    records: [ping],
  },
  {
    name: 'unknown frame type',
    description: 'type byte 3 (1 handshake and 2 data are the only types).',
    error: 'DECODE_UNKNOWN_TYPE',
    counter: 0n,
    records: [ping],
    mutation: () => ({ op: 'replace', offset: 0, bytes: '03' }),
  },
  {
    name: 'unknown frame type 0',
    description: 'type byte 0.',
    error: 'DECODE_UNKNOWN_TYPE',
    counter: 0n,
    records: [ping],
    mutation: () => ({ op: 'replace', offset: 0, bytes: '00' }),
  },
  {
    name: 'unknown record type inside a valid AEAD',
    description: 'record type 8 with an 8-byte body, correctly sealed.',
    error: 'DECODE_UNKNOWN_TYPE',
    counter: 0n,
    plaintext: cat(u8(8), bytes32len(u64(1n))),
  },
  {
    name: 'truncated: shorter than the header',
    description: 'the first 5 bytes of a frame.',
    error: 'DECODE_SHORT_INPUT',
    counter: 0n,
    records: [ping],
    mutation: () => ({ op: 'truncate', length: 5 }),
  },
  {
    name: 'truncated: data frame shorter than its tag',
    description: 'header and 10 body bytes: a data frame needs at least the 16-byte tag.',
    error: 'DECODE_SHORT_INPUT',
    counter: 0n,
    records: [ping],
    mutation: () => ({ op: 'truncate', length: 19 }),
  },
  {
    name: 'record length overflowing the plaintext',
    description: 'a unit record declaring 1000 bytes with 10 present, correctly sealed.',
    error: 'DECODE_SHORT_INPUT',
    counter: 0n,
    plaintext: cat(u8(REC.unit), u32(1000), new Uint8Array(10)),
  },
  {
    name: 'no records',
    description: 'an empty plaintext, correctly sealed: a data frame holds one or more records.',
    error: 'DECODE_SHORT_INPUT',
    counter: 0n,
    plaintext: new Uint8Array(0),
  },
  {
    name: 'ping record with a trailing byte',
    description: 'a ping record of length 9 (u64 and one more byte), correctly sealed.',
    error: 'DECODE_TRAILING_BYTES',
    counter: 0n,
    plaintext: cat(u8(REC.ping), bytes32len(cat(u64(T0), u8(0)))),
  },
  {
    name: 'bad chunk: past the end of its message',
    description: 'offset 90 + 20 data bytes > total 100.',
    error: 'CHUNK_INVALID',
    counter: 0n,
    records: [
      { type: 'chunk', messageId: 1, total: 100, offset: 90, data: hex(new Uint8Array(20).fill(0xab)) },
    ],
  },
  {
    name: 'bad chunk: no data',
    description: 'a chunk record with an empty data part.',
    error: 'CHUNK_INVALID',
    counter: 0n,
    records: [{ type: 'chunk', messageId: 1, total: 100, offset: 0, data: '' }],
  },
  {
    name: 'bad chunk: first chunk not at offset 0',
    description: 'no message is in progress and the chunk starts at offset 100.',
    error: 'CHUNK_INVALID',
    counter: 0n,
    records: [chunkB],
  },
  {
    name: 'bad chunk: another message interleaved',
    description:
      'message 7 is in progress when a chunk of message 8 starts: chunks of a unit are contiguous.',
    error: 'CHUNK_INVALID',
    counter: 0n,
    records: [chunkA, { ...chunkA, messageId: 8 }],
  },
  {
    name: 'wrong key',
    description: 'sealed with another key (sealKey) than the receiver holds (key).',
    error: 'FRAME_DECRYPT_FAILED',
    counter: 0n,
    records: [ping],
    sealKey: OTHER_KEY,
  },
  {
    name: 'valid: counter at the re-handshake point (2^32)',
    description:
      'counter 2^32, the next one expected: a receiver requires last + 1 and nothing else (the re-key bound, 2^32 frames by default, is a link rule: past it the link is closed with REKEY_DUE, and frames already on the way are still read until the peer closes).',
    counter: 2n ** 32n,
    records: [ping],
  },
  {
    name: 'a handshake frame after the handshake',
    description:
      'a sealed data frame whose type byte is set to 1 (handshake), arriving on a link whose handshake is done.',
    error: 'HANDSHAKE_UNEXPECTED_MESSAGE',
    counter: 0n,
    records: [ping],
    mutation: () => ({ op: 'replace', offset: 0, bytes: '01' }),
  },
  {
    name: 'ack record one byte short',
    description: 'an ack record of length 7 (an ack body is a u64), correctly sealed.',
    error: 'DECODE_SHORT_INPUT',
    counter: 0n,
    plaintext: cat(u8(REC.ack), bytes32len(new Uint8Array(7))),
  },
  {
    name: 'resume record with a trailing byte',
    description: 'a resume record (type 7) of length 9 (u64 and one more byte), correctly sealed.',
    error: 'DECODE_TRAILING_BYTES',
    counter: 0n,
    plaintext: cat(u8(REC.resume), bytes32len(cat(u64(3n), u8(0)))),
  },
  {
    name: 'chunk record shorter than its header',
    description: 'a chunk record of length 11: messageId, total and offset need 12 bytes.',
    error: 'DECODE_SHORT_INPUT',
    counter: 0n,
    plaintext: cat(u8(REC.chunk), bytes32len(new Uint8Array(11))),
  },
  {
    name: 'close record with a code that is not UTF-8',
    description: 'close = str16 code ‖ str16 reason, the code being the one byte 0xff.',
    error: 'DECODE_BAD_UTF8',
    counter: 0n,
    plaintext: cat(u8(REC.close), bytes32len(cat(u16(1), u8(0xff), u16(0)))),
  },
  {
    name: 'chunk of a message over the size cap',
    description:
      'the first chunk of a message declaring 2^32 - 1 bytes, over any receiver cap on a unit (a session host: maxMessageBytes + 1 KiB, 16 MiB + 1 KiB by default).',
    error: 'MESSAGE_TOO_LARGE',
    counter: 0n,
    records: [
      {
        type: 'chunk',
        messageId: 1,
        total: 2 ** 32 - 1,
        offset: 0,
        data: hex(new Uint8Array(16).fill(0xab)),
      },
    ],
  },
]

const frameCases = frameSpecs.map(frameCase)

// ── handshake.json ──────────────────────────────────────────────────────────────────────

const INITIATOR = 0
const RESPONDER = 1
const FP_I_LOCAL = [
  'sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00',
]
const FP_R_LOCAL = [
  'sha-256 A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F:A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F',
  'sha-384 01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F:20:21:22:23:24:25:26:27:28:29:2A:2B:2C:2D:2E:2F:30',
]
/** An X25519 u-coordinate of order 8 (canonical). */
const X25519_ORDER8 = bigToLe(
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  32,
)

interface SideSpec {
  party: Name
  expectedPeer: Name
  mode?: string
  clock: bigint
  fingerprints?: { local: string[]; remote: string[] }
}

type Craft =
  | { message: 'helloResponder'; how: string; mutation: (honest: Uint8Array, hI: Uint8Array) => Mutation }
  | { message: 'authResponder'; how: string; signer: Name; role: number }
  | { message: 'authResponder'; how: string; mutation: (honest: Uint8Array, hR: Uint8Array) => Mutation }

interface HandshakeSpec {
  name: string
  description: string
  error?: ErrorCode
  refusedBy?: ('initiator' | 'responder')[]
  refusedAt?: 'hello' | 'auth'
  initiator: SideSpec
  responder: SideSpec
  craft?: Craft
}

function sideJson(s: SideSpec, role: number, peerClock: bigint): object {
  const p = parties[s.party]
  const eph = label(role === INITIATOR ? 'ephemeral initiator' : 'ephemeral responder')
  return {
    party: s.party,
    secretKey: hex(p.seed),
    publicKey: hex(p.publicKey),
    ephemeralSecret: hex(eph),
    ephemeralPublic: '',
    nonce: hex(label(role === INITIATOR ? 'nonce initiator' : 'nonce responder')),
    mode: s.mode ?? 'conclave',
    clock: s.clock.toString(),
    epoch: hex(epochOf(s.party)),
    ...(s.fingerprints ? { fingerprints: s.fingerprints } : {}),
    expectedPeer: parties[s.expectedPeer].id,
    clockOffsetMs: Number(peerClock - s.clock),
  }
}

/** hello = u8 1 ‖ u8 1 ‖ u8 n ‖ versions (1, 2) ‖ PartyId ‖ ephemeral ‖ nonce ‖ str16 mode ‖ u64 clock ‖ bytes16 epoch ‖ u16 n ‖ str16… ‖ u16 m ‖ str16… */
function encodeHelloHere(s: SideSpec, ephemeralPublic: Uint8Array, nonce: Uint8Array): Uint8Array {
  const list = (l: string[]): Uint8Array => cat(u16(l.length), ...l.map(str16))
  return cat(
    u8(1),
    u8(1),
    u8(2),
    u8(1),
    u8(2),
    parties[s.party].publicKey,
    ephemeralPublic,
    nonce,
    str16(s.mode ?? 'conclave'),
    u64(s.clock),
    epochOf(s.party),
    list(s.fingerprints?.local ?? []),
    list(s.fingerprints?.remote ?? []),
  )
}

interface SideRun {
  hello: Uint8Array
  auth?: Uint8Array
  result?: HandshakeResult
  refused?: { at: 'hello' | 'auth'; code: ErrorCode | undefined }
}

async function handshakeCase(s: HandshakeSpec): Promise<object> {
  const sides = [s.initiator, s.responder] as const
  const json = sides.map((side, role) => sideJson(side, role, sides[1 - role]!.clock)) as Record<
    string,
    unknown
  >[]
  const hs = sides.map(
    (side, role) =>
      new Handshake({
        crypto: backend,
        identity: parties[side.party].key,
        expectedPeer: parties[side.expectedPeer].id,
        initiator: role === INITIATOR,
        mode: side.mode ?? 'conclave',
        epoch: epochOf(side.party),
        now: () => Number(side.clock),
        fingerprints: side.fingerprints,
        fixed: {
          ephemeralSecret: fromHex(json[role]!.ephemeralSecret as string),
          nonce: fromHex(json[role]!.nonce as string),
          clock: side.clock,
        },
      }),
  )
  const runs: SideRun[] = []
  for (let role = 0; role < 2; role++) {
    const ephemeral = await backend.x25519.importSecret(fromHex(json[role]!.ephemeralSecret as string))
    json[role]!.ephemeralPublic = hex(ephemeral.publicKey)
    const hello = await hs[role]!.hello()
    same(
      'hello',
      encodeHelloHere(sides[role]!, ephemeral.publicKey, fromHex(json[role]!.nonce as string)),
      hello,
    )
    runs.push({ hello })
  }
  const [rI, rR] = runs as [SideRun, SideRun]
  // what travels: the responder's hello may be crafted
  let helloMutation: Mutation | undefined
  const wireHello = [rI.hello, rR.hello]
  if (s.craft?.message === 'helloResponder') {
    helloMutation = s.craft.mutation(rR.hello, rI.hello)
    wireHello[RESPONDER] = mutate(rR.hello, helloMutation)
  }
  // each message goes where SecureChannel sends it: a hello to onHello, an auth to onAuth
  for (let role = 0; role < 2; role++) {
    const peerHello = wireHello[1 - role]!
    try {
      const msg = decodeHandshake(peerHello)
      if (msg.type === HandshakeType.hello) runs[role]!.auth = await hs[role]!.onHello(msg, peerHello)
      else {
        await hs[role]!.onAuth(msg.signature)
        throw new Error('an auth before any hello was accepted')
      }
    } catch (e) {
      runs[role]!.refused = { at: 'hello', code: errorCode(e) }
    }
  }
  const hellosHonest = helloMutation === undefined
  const passedHello = runs.some((r) => !r.refused)
  const out: Record<string, unknown> = {
    name: s.name,
    description: s.description,
    valid: s.error === undefined,
    ...(s.error ? { error: s.error, refusedBy: s.refusedBy, refusedAt: s.refusedAt } : {}),
    initiator: json[INITIATOR],
    responder: json[RESPONDER],
    helloInitiator: hex(wireHello[INITIATOR]!),
    helloResponder: hex(wireHello[RESPONDER]!),
  }
  let wireAuth: (Uint8Array | undefined)[] = [rI.auth, rR.auth]
  if (hellosHonest && passedHello) {
    // transcript = SHA-256(u32 len ‖ hello_I ‖ u32 len ‖ hello_R)
    const transcript = sha256(cat(bytes32len(rI.hello), bytes32len(rR.hello)))
    same('transcript', transcript, libTranscriptHash(rI.hello, rR.hello))
    const signed = [INITIATOR, RESPONDER].map((role) => cat(TAG_HANDSHAKE, u8(role), transcript))
    same('auth signed bytes', signed[0]!, libAuthSignedBytes(0, transcript))
    same('auth signed bytes', signed[1]!, libAuthSignedBytes(1, transcript))
    const ephI = await backend.x25519.importSecret(fromHex(json[0]!.ephemeralSecret as string))
    const shared = await backend.x25519.sharedSecret(ephI, fromHex(json[1]!.ephemeralPublic as string))
    const i2r = hkdf(sha256, shared, transcript, enc.encode('conclave/v1 i->r'), 32)
    const r2i = hkdf(sha256, shared, transcript, enc.encode('conclave/v1 r->i'), 32)
    const lib = libDeriveKeys(shared, transcript)
    same('key i->r', i2r, lib.initiatorToResponder)
    same('key r->i', r2i, lib.responderToInitiator)
    for (let role = 0; role < 2; role++) {
      const auth = runs[role]!.auth
      if (!auth) continue
      const party = parties[sides[role]!.party]
      same('auth', cat(u8(1), u8(2), ed25519.sign(signed[role]!, party.seed)), auth)
    }
    let craftJson: object | undefined
    if (s.craft?.message === 'authResponder' && 'mutation' in s.craft) {
      const mutation = s.craft.mutation(rR.auth!, rR.hello)
      craftJson = { message: 'authResponder', how: s.craft.how, honest: hex(rR.auth!), mutation }
      wireAuth = [rI.auth, mutate(rR.auth!, mutation)]
    } else if (s.craft?.message === 'authResponder') {
      const signedBytes = cat(TAG_HANDSHAKE, u8(s.craft.role), transcript)
      const signer = parties[s.craft.signer]
      const crafted = cat(u8(1), u8(2), await backend.ed25519.sign(signer.key, signedBytes))
      craftJson = {
        message: 'authResponder',
        how: s.craft.how,
        honest: hex(rR.auth!),
        signerSecretKey: hex(signer.seed),
        signedBytes: hex(signedBytes),
      }
      wireAuth = [rI.auth, crafted]
    }
    Object.assign(out, {
      transcript: hex(transcript),
      authInitiatorSignedBytes: hex(signed[0]!),
      authResponderSignedBytes: hex(signed[1]!),
      ...(wireAuth[INITIATOR] ? { authInitiator: hex(wireAuth[INITIATOR]) } : {}),
      ...(wireAuth[RESPONDER] ? { authResponder: hex(wireAuth[RESPONDER]) } : {}),
      sharedSecret: hex(shared),
      keyInitiatorToResponder: hex(i2r),
      keyResponderToInitiator: hex(r2i),
      ...(craftJson ? { crafted: craftJson } : {}),
    })
    for (let role = 0; role < 2; role++) {
      const run = runs[role]!
      const peerAuth = wireAuth[1 - role]
      if (run.refused || !peerAuth) continue
      try {
        const msg = decodeHandshake(peerAuth)
        if (msg.type !== HandshakeType.auth) {
          await hs[role]!.onHello(msg, peerAuth)
          throw new Error('a second hello was accepted')
        }
        run.result = await hs[role]!.onAuth(msg.signature)
        same('send key', run.result.sendKey, role === INITIATOR ? i2r : r2i)
        same('receive key', run.result.receiveKey, role === INITIATOR ? r2i : i2r)
      } catch (e) {
        run.refused = { at: 'auth', code: errorCode(e) }
      }
    }
  } else if (helloMutation) {
    out.crafted = {
      message: 'helloResponder',
      how: (s.craft as { how: string }).how,
      honest: hex(rR.hello),
      mutation: helloMutation,
    }
  }
  // the verdicts were written from DESIGN: the code must agree before anything is written
  const names = ['initiator', 'responder'] as const
  for (let role = 0; role < 2; role++) {
    const r = runs[role]!
    const refuses = s.refusedBy?.includes(names[role]!) ?? false
    const got = r.refused ? `${r.refused.at} ${r.refused.code}` : 'accepted'
    const want = refuses ? `${s.refusedAt} ${s.error}` : 'accepted'
    if (got !== want)
      throw new Error(`handshake case "${s.name}", ${names[role]}: expected ${want}, the code gives ${got}`)
  }
  return out
}

const I = (extra: Partial<SideSpec> = {}): SideSpec => ({
  party: 'alice',
  expectedPeer: 'bob',
  clock: T0,
  ...extra,
})
const R = (extra: Partial<SideSpec> = {}): SideSpec => ({
  party: 'bob',
  expectedPeer: 'alice',
  clock: T0 + 1234n,
  ...extra,
})
const webrtcI = { local: FP_I_LOCAL, remote: FP_R_LOCAL }
const webrtcR = { local: FP_R_LOCAL, remote: FP_I_LOCAL }
/** A local fingerprint no honest end has (a DTLS man in the middle). */
const FP_MITM = [
  'sha-256 DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF',
]
/** Where `str16 mode` starts in a hello offering two versions: 3 + 2 + 32 + 32 + 32. */
const MODE_AT = 101
/** A mode of 64 bytes of UTF-8 (40 characters): the longest a hello may carry. */
const MODE_64 = `conclave/frost:${'é'.repeat(24)}x`

/** What a crafted case says beyond its message: the initiator alone refuses unless `refusedBy` says otherwise. */
interface CraftedSpec {
  name: string
  description: string
  error: ErrorCode
  how: string
  refusedBy?: HandshakeSpec['refusedBy']
  initiator?: SideSpec
  responder?: SideSpec
}

/**
 * A case refused at `at`: the responder's message of that step is made from its honest one by
 * `mutation`, which also gets the initiator's hello (for a hello) or the responder's (for an auth).
 */
function craftedAt(
  at: 'hello' | 'auth',
  c: CraftedSpec,
  mutation: (honest: Uint8Array, hello: Uint8Array) => Mutation,
): HandshakeSpec {
  return {
    name: c.name,
    description: c.description,
    error: c.error,
    refusedBy: c.refusedBy ?? ['initiator'],
    refusedAt: at,
    initiator: c.initiator ?? I(),
    responder: c.responder ?? R(),
    craft:
      at === 'hello'
        ? { message: 'helloResponder', how: c.how, mutation }
        : { message: 'authResponder', how: c.how, mutation },
  }
}
const badHello = (c: CraftedSpec, m: (honest: Uint8Array, hI: Uint8Array) => Mutation): HandshakeSpec =>
  craftedAt('hello', c, m)
const badAuth = (c: CraftedSpec, m: (honest: Uint8Array, hR: Uint8Array) => Mutation): HandshakeSpec =>
  craftedAt('auth', c, m)
/** The initiator's own hello, sent back to it. */
const reflected = (_h: Uint8Array, hI: Uint8Array): Mutation => ({ op: 'set', bytes: hex(hI) })
const replaceAt = (offset: number, bytes: string) => (): Mutation => ({ op: 'replace', offset, bytes })

const handshakeSpecs: HandshakeSpec[] = [
  {
    name: 'valid: without fingerprints (memory / relay)',
    description: "both fingerprint lists empty; the responder's clock is 1234 ms ahead.",
    initiator: I(),
    responder: R(),
  },
  {
    name: 'valid: webrtc fingerprints that match',
    description:
      "peer.local == my.remote and peer.remote == my.local on both ends; lists are sorted 'alg HEX' lines.",
    initiator: I({ fingerprints: webrtcI }),
    responder: R({ fingerprints: webrtcR }),
  },
  {
    name: 'auth signed by a key other than the hello PartyId',
    description:
      "the responder's hello names bob; its auth is mallory's signature over the right signed bytes.",
    error: 'HANDSHAKE_BAD_SIGNATURE',
    refusedBy: ['initiator'],
    refusedAt: 'auth',
    initiator: I(),
    responder: R(),
    craft: {
      message: 'authResponder',
      how: 'signed by mallory over authResponderSignedBytes',
      signer: 'mallory',
      role: RESPONDER,
    },
  },
  {
    name: 'auth signature with the wrong role byte',
    description:
      "bob signs the transcript with role 0 (initiator) instead of 1: an initiator's auth cannot be reflected as a responder's.",
    error: 'HANDSHAKE_BAD_SIGNATURE',
    refusedBy: ['initiator'],
    refusedAt: 'auth',
    initiator: I(),
    responder: R(),
    craft: {
      message: 'authResponder',
      how: 'signed by bob with role byte 0',
      signer: 'bob',
      role: INITIATOR,
    },
  },
  {
    name: 'hello from an unexpected PartyId',
    description:
      'alice meant to reach bob; carol answers (a hostile signaling server or network). carol, who expected alice, answers with her auth.',
    error: 'HANDSHAKE_UNEXPECTED_PEER',
    refusedBy: ['initiator'],
    refusedAt: 'hello',
    initiator: I(),
    responder: R({ party: 'carol' }),
  },
  badHello(
    {
      name: 'reflected hello claims our own id',
      description: "the network sends the initiator's own hello back to it.",
      error: 'HANDSHAKE_SELF',
      how: "replaced by the initiator's own hello",
    },
    reflected,
  ),
  {
    name: 'mode mismatch',
    description: "service modes 'conclave' and 'conclave/frost' differ: both ends refuse.",
    error: 'HANDSHAKE_MODE_MISMATCH',
    refusedBy: ['initiator', 'responder'],
    refusedAt: 'hello',
    initiator: I(),
    responder: R({ mode: 'conclave/frost' }),
  },
  {
    name: 'fingerprint mismatch',
    description:
      "the responder's local fingerprint is not what the initiator sees as remote (a DTLS man in the middle): both ends refuse.",
    error: 'FINGERPRINT_MISMATCH',
    refusedBy: ['initiator', 'responder'],
    refusedAt: 'hello',
    initiator: I({ fingerprints: webrtcI }),
    responder: R({ fingerprints: { local: FP_MITM, remote: FP_I_LOCAL } }),
  },
  badHello(
    {
      name: 'small-order ephemeral key (order 8)',
      description:
        "the responder's ephemeral X25519 key replaced by a point of order 8: the shared secret would be all zero.",
      error: 'HANDSHAKE_WEAK_KEY',
      how: 'ephemeral (bytes 37..69) replaced by an order-8 u-coordinate',
    },
    replaceAt(37, hex(X25519_ORDER8)),
  ),
  badHello(
    {
      name: 'small-order ephemeral key (u = 0)',
      description: "the responder's ephemeral X25519 key replaced by u = 0.",
      error: 'HANDSHAKE_WEAK_KEY',
      how: 'ephemeral (bytes 37..69) replaced by 32 zero bytes',
    },
    replaceAt(37, hex(ZERO32)),
  ),
  badHello(
    {
      name: 'unknown handshake version',
      description: 'message version byte 2.',
      error: 'DECODE_UNKNOWN_VERSION',
      how: 'byte 0 (message version) set to 2',
    },
    replaceAt(0, '02'),
  ),
  badHello(
    {
      name: 'no common protocol version',
      description: 'the hello offers protocol version 3 only (twice).',
      error: 'HANDSHAKE_VERSION_MISMATCH',
      how: 'bytes 3 and 4 (the two protocol versions offered) set to 3',
    },
    replaceAt(3, '0303'),
  ),
  badHello(
    {
      name: 'truncated hello',
      description: 'the hello minus its last byte.',
      error: 'DECODE_SHORT_INPUT',
      how: 'last byte removed',
    },
    (h) => ({ op: 'truncate', length: h.length - 1 }),
  ),
  badHello(
    {
      name: 'hello with a trailing byte',
      description: 'one zero byte after the remote fingerprint list.',
      error: 'DECODE_TRAILING_BYTES',
      how: 'one zero byte appended',
    },
    () => ({ op: 'append', bytes: '00' }),
  ),
  badHello(
    {
      name: 'unknown handshake message type in place of the hello',
      description: 'message type byte 3 (1 hello and 2 auth are the only types).',
      error: 'DECODE_UNKNOWN_TYPE',
      how: 'byte 1 (message type) set to 3',
    },
    replaceAt(1, '03'),
  ),
  badAuth(
    {
      name: 'unknown handshake message type in place of the auth',
      description:
        "the responder's auth with its message type byte set to 3: the initiator, past the hello checks, refuses it when it decodes it.",
      error: 'DECODE_UNKNOWN_TYPE',
      how: 'byte 1 (message type) set to 3',
    },
    replaceAt(1, '03'),
  ),
  badHello(
    {
      name: 'an auth in place of the hello',
      description:
        'the first message from the responder is an auth (type 2, a zero signature): no hello was received, so the message is out of place.',
      error: 'HANDSHAKE_UNEXPECTED_MESSAGE',
      how: 'replaced by u8 1 ‖ u8 2 ‖ 64 zero bytes',
    },
    () => ({ op: 'set', bytes: hex(cat(u8(1), u8(2), new Uint8Array(64))) }),
  ),
  badAuth(
    {
      name: 'a second hello in place of the auth',
      description: "the responder's hello again where its auth should come.",
      error: 'HANDSHAKE_UNEXPECTED_MESSAGE',
      how: "replaced by the responder's own hello",
    },
    (_a, hR) => ({ op: 'set', bytes: hex(hR) }),
  ),
  badAuth(
    {
      name: 'truncated auth',
      description: 'the auth minus the last byte of its signature.',
      error: 'DECODE_SHORT_INPUT',
      how: 'last byte removed',
    },
    (a) => ({ op: 'truncate', length: a.length - 1 }),
  ),
  badAuth(
    {
      name: 'auth with a trailing byte',
      description: 'one zero byte after the 64-byte signature.',
      error: 'DECODE_TRAILING_BYTES',
      how: 'one zero byte appended',
    },
    () => ({ op: 'append', bytes: '00' }),
  ),
  badHello(
    {
      name: 'no protocol versions',
      description: 'the version count (byte 2) is 0: a hello offers 1 to 16 versions.',
      error: 'DECODE_BAD_LENGTH',
      how: 'byte 2 (version count) set to 0',
    },
    replaceAt(2, '00'),
  ),
  badHello(
    {
      name: '17 protocol versions',
      description: 'the version count (byte 2) is 17, refused as soon as it is read.',
      error: 'DECODE_BAD_LENGTH',
      how: 'byte 2 (version count) set to 17',
    },
    replaceAt(2, '11'),
  ),
  {
    name: 'valid: a mode of exactly 64 bytes',
    description: `both ends run the mode ${JSON.stringify(MODE_64)}: 40 characters, 64 bytes of UTF-8 (the limit counts bytes).`,
    initiator: I({ mode: MODE_64 }),
    responder: R({ mode: MODE_64 }),
  },
  badHello(
    {
      name: 'mode of 65 bytes',
      description: `the responder's mode replaced by ${JSON.stringify(`${MODE_64}x`)} (65 bytes).`,
      error: 'DECODE_BAD_LENGTH',
      how: `str16 mode (bytes ${MODE_AT}..${MODE_AT + 10}, 'conclave') replaced by a 65-byte one`,
    },
    (h) => ({
      op: 'set',
      bytes: hex(cat(h.subarray(0, MODE_AT), str16(`${MODE_64}x`), h.subarray(MODE_AT + 10))),
    }),
  ),
  badHello(
    {
      name: 'mode not valid UTF-8',
      description: "the mode's first byte set to 0xff.",
      error: 'DECODE_BAD_UTF8',
      how: `byte ${MODE_AT + 2} (the first byte of the mode) set to 0xff`,
    },
    replaceAt(MODE_AT + 2, 'ff'),
  ),
  badHello(
    {
      name: 'nine local fingerprints',
      description: 'the local fingerprint count says 9 (at most 8 per list), refused as soon as it is read.',
      error: 'DECODE_BAD_LENGTH',
      how: 'the u16 local fingerprint count (4 bytes from the end) set to 9',
    },
    (h) => ({ op: 'replace', offset: h.length - 4, bytes: '0009' }),
  ),
  badHello(
    {
      name: 'order: a reflected hello on webrtc breaks two rules',
      description:
        "the initiator's own hello sent back to it on a webrtc link: it claims the initiator's id and its fingerprint lists are the initiator's own (peer.local != my.remote). The id is checked first.",
      error: 'HANDSHAKE_SELF',
      how: "replaced by the initiator's own hello",
      initiator: I({ fingerprints: webrtcI }),
      responder: R({ fingerprints: webrtcR }),
    },
    reflected,
  ),
  badHello(
    {
      name: 'order: a reflected hello with no common version',
      description:
        "the initiator's own hello sent back offering protocol version 3 only: the version is checked before the id.",
      error: 'HANDSHAKE_VERSION_MISMATCH',
      how: "replaced by the initiator's own hello, bytes 3 and 4 (the versions offered) set to 3",
    },
    (_h, hI) => ({ op: 'set', bytes: hex(mutate(hI, replaceAt(3, '0303')())) }),
  ),
  badHello(
    {
      name: 'order: unexpected peer and mode mismatch',
      description:
        "the responder's hello names carol (alice expected bob) and the mode 'conclavX': the peer's id is checked before the mode.",
      error: 'HANDSHAKE_UNEXPECTED_PEER',
      how: `PartyId (bytes 5..37) replaced by carol's key and the last mode byte (${MODE_AT + 9}) by 'X'`,
    },
    (h) => {
      const b = mutate(h, replaceAt(5, hex(parties.carol.publicKey))())
      return { op: 'set', bytes: hex(mutate(b, replaceAt(MODE_AT + 9, '58')())) }
    },
  ),
  {
    name: 'order: mode mismatch and fingerprint mismatch',
    description:
      "modes 'conclave' and 'conclave/frost', and the responder's local fingerprint is not what the initiator sees: the mode is checked before the fingerprints, on both ends.",
    error: 'HANDSHAKE_MODE_MISMATCH',
    refusedBy: ['initiator', 'responder'],
    refusedAt: 'hello',
    initiator: I({ fingerprints: webrtcI }),
    responder: R({ mode: 'conclave/frost', fingerprints: { local: FP_MITM, remote: FP_I_LOCAL } }),
  },
  badHello(
    {
      name: 'order: fingerprint mismatch and a weak ephemeral key',
      description:
        "the responder's local fingerprint is not what the initiator sees, and its ephemeral key is u = 0: the fingerprints are checked before the key exchange. The responder refuses the initiator's honest hello for the fingerprints too.",
      error: 'FINGERPRINT_MISMATCH',
      how: 'ephemeral (bytes 37..69) replaced by 32 zero bytes',
      refusedBy: ['initiator', 'responder'],
      initiator: I({ fingerprints: webrtcI }),
      responder: R({ fingerprints: { local: FP_MITM, remote: FP_I_LOCAL } }),
    },
    replaceAt(37, hex(ZERO32)),
  ),
]

const handshakeCases: object[] = []
for (const spec of handshakeSpecs) handshakeCases.push(await handshakeCase(spec))

// ── write ──────────────────────────────────────────────────────────────────────────────────

const SOURCE_COMMON =
  'Generated by packages/core/test/vectors/generate.ts from fixed labels (every seed, ephemeral secret, nonce, epoch and key is SHA-256("conclave/vectors/v1 " || label)) and fixed clocks near T0 = 1767225600000 (2026-01-01T00:00:00Z); Ed25519 is RFC 8032 (deterministic). Bytes built by the generator\'s own encoders from DESIGN and cross-checked against the package\'s encoders; verdicts written from DESIGN. See README.md for the schema.'

const files: [string, object][] = [
  [
    'envelope.json',
    {
      version: 1,
      source: `${SOURCE_COMMON} Receiver pipeline order: decode, sender is the link peer, participant, strict signature, recipient, freshness (30 s skew, first unit of a stream), replay.`,
      parties: Object.fromEntries(
        NAMES.map((n) => [n, { secretKey: hex(parties[n].seed), publicKey: parties[n].id }]),
      ),
      cases: envelopeCases,
    },
  ],
  [
    'batch.json',
    {
      version: 1,
      source: `${SOURCE_COMMON} Receiver pipeline order: decode (2 ≤ n ≤ 1024, direct envelopes only), every envelope from the link peer, one strict signature in the batch context over the items' digests, then each envelope in order: participant, recipient, freshness, replay.`,
      parties: Object.fromEntries(
        NAMES.map((n) => [
          n,
          { secretKey: hex(parties[n].seed), publicKey: parties[n].id, epoch: hex(epochOf(n)) },
        ]),
      ),
      cases: batchCases,
    },
  ],
  [
    'frame.json',
    {
      version: 1,
      source: `${SOURCE_COMMON} ChaCha20-Poly1305 (RFC 8439). Receiver order: frame decode, counter, tag length, AEAD open, records decode, reassembly.`,
      cases: frameCases,
    },
  ],
  [
    'handshake.json',
    {
      version: 1,
      source: `${SOURCE_COMMON} The honest messages come from the real Handshake class with its fixed option; a crafted message says how it was made from the honest one.`,
      cases: handshakeCases,
    },
  ],
]

for (const [name, content] of files) {
  const url = new URL(name, import.meta.url)
  writeFileSync(url, `${JSON.stringify(content, null, 2)}\n`)
  console.log(`wrote ${url.pathname} (${(content as { cases: unknown[] }).cases.length} cases)`)
}
