/**
 * The wire test vectors (`test/vectors/{envelope,batch,frame,handshake}.json`) against the real code, on
 * every crypto backend: noble with its own AEAD, WebCrypto with node:crypto's, and noble with
 * node:crypto's (so the two AEADs are cross-checked on the same frames).
 *
 * For each case the bytes are first rebuilt from the case's inputs and compared byte for byte, then
 * the receiver runs and its verdict (accepted, or the exact error code) must be the case's. Envelope
 * cases run twice: through a small receiver written from DESIGN's pipeline order, and through the
 * real InThreadSessionHost fed over a memory link by an authenticated SecureChannel; batch cases the
 * same way, through decodeBatch and one verification of the batch signature, then each envelope
 * through the checks after the signature (and on the host: a valid batch delivers its envelopes in
 * order, a refused one delivers none and counts its code once). Frames run
 * through decodeFrame / frameNonce / aead.open / decodeRecords / Reassembler; handshakes through the
 * real Handshake class with the cases' fixed secrets. Codes are asserted, never messages.
 *
 * The envelope checks and both receivers live in `envelope-check.ts`, which has no test runner in
 * it, so that browsers run the same checks on the page and in a Worker (e2e/browser).
 */

import {
  ConclaveError,
  type CryptoBackend,
  type ErrorCode,
  fromHex,
  isErrorCode,
  parsePartyId,
  parseSessionId,
  toHex,
} from '@conclave/core'
import { Handshake, type HandshakeResult, Reassembler } from '@conclave/core/channel'
import { type Aead, createNobleBackend, nobleAead } from '@conclave/core/crypto'
import { createNodeCrypto, nodeAead } from '@conclave/core/node'
import {
  authSignedBytes,
  batchSignedBytes,
  decodeBatch,
  decodeFrame,
  decodeHandshake,
  decodeRecords,
  deriveKeys,
  type EnvelopeUnit,
  encodeAuth,
  encodeBatch,
  encodeFrameHeader,
  encodeFullBatch,
  encodeRecords,
  envelopeSignedBytes,
  expandCompactBatch,
  type Record as FrameRecord,
  FrameType,
  frameNonce,
  HandshakeType,
  RecordType,
  transcriptHash,
} from '@conclave/core/wire'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import {
  addLToS,
  afterSignature,
  applyMutation,
  BATCH_MARKER_BYTE,
  type BaseCase,
  be,
  cat,
  checkEnvelopeCase,
  checkEnvelopeCaseOnHost,
  codeOf,
  designReceive,
  designVerdicts,
  type EnvelopeCase,
  envelopeFile,
  envelopesOf,
  expected,
  type HostOutcome,
  hostCases,
  hostVerdicts,
  isBatch,
  type Mutation,
  partySeeds,
  payloadOfFields,
  type ReceiverContext,
  type ReceiverState,
  seenAccepted,
  TAG_BATCH,
  TAG_ENVELOPE,
  type VectorFile,
  type Verdict,
  withHost,
} from './envelope-check.ts'
import batchJson from './vectors/batch.json'
import frameJson from './vectors/frame.json'
import handshakeJson from './vectors/handshake.json'

// ── schema ────────────────────────────────────────────────────────────────────────────────

interface BatchEnvelope {
  fields: EnvelopeCase['fields']
  payload: string
  recipient: string
  timestamp: string
  declaredLength?: number
  item: string
  signedBytes: string
  digest: string
}

interface BatchCase extends BaseCase {
  publicKey: string
  secretKey: string
  signerPublicKey: string
  signatureOrigin: 'sign' | 'sign-s-plus-l'
  count?: number
  envelopes: BatchEnvelope[]
  /** The batch in the compact form written on the wire (honest batches that can be compact). */
  compact?: string
  signedBytes: string
  signatureInput?: string
  signature: string
  mutation?: Mutation
  batch: string
  now: string
  clockOffset: string
  receiver: string
  linkPeer: string
  participants: string[]
  seenBefore?: string[]
  verdicts?: Verdict[]
}

type RecordJson =
  | { type: 'unit'; unit: string }
  | { type: 'chunk'; messageId: number; total: number; offset: number; data: string }
  | { type: 'ack'; seq: string }
  | { type: 'resume'; seq: string }
  | { type: 'ping'; value: string }
  | { type: 'pong'; value: string }
  | { type: 'close'; code: string; reason: string }

interface FrameCase extends BaseCase {
  key: string
  sealKey?: string
  counter: string
  expectedCounter: string
  records?: RecordJson[]
  plaintext: string
  nonce: string
  aad: string
  mutation?: Mutation
  frame: string
  delivered?: string[]
}

interface Side {
  party: string
  secretKey: string
  publicKey: string
  ephemeralSecret: string
  ephemeralPublic: string
  nonce: string
  mode: string
  clock: string
  epoch: string
  fingerprints?: { local: string[]; remote: string[] }
  expectedPeer: string
  clockOffsetMs: number
}

type HandshakeMessageName = 'helloInitiator' | 'helloResponder' | 'authInitiator' | 'authResponder'

interface HandshakeCase extends BaseCase {
  refusedBy?: ('initiator' | 'responder')[]
  refusedAt?: 'hello' | 'auth'
  initiator: Side
  responder: Side
  helloInitiator: string
  helloResponder: string
  transcript?: string
  authInitiatorSignedBytes?: string
  authResponderSignedBytes?: string
  authInitiator?: string
  authResponder?: string
  sharedSecret?: string
  keyInitiatorToResponder?: string
  keyResponderToInitiator?: string
  crafted?: {
    message: HandshakeMessageName
    how: string
    honest: string
    mutation?: Mutation
    signerSecretKey?: string
    signedBytes?: string
  }
}

// The JSON imports are typed by their contents; the checks below are what validates them.
const batchFile = batchJson as unknown as VectorFile<BatchCase> & {
  parties: Record<string, { secretKey: string; publicKey: string; epoch: string }>
}
const frameFile = frameJson as unknown as VectorFile<FrameCase>
const handshakeFile = handshakeJson as unknown as VectorFile<HandshakeCase>

// ── helpers ───────────────────────────────────────────────────────────────────────────────

const BACKENDS: ReadonlyArray<[string, () => CryptoBackend]> = [
  ['noble + nobleAead', () => createNobleBackend()],
  ['webcrypto + nodeAead', () => createNodeCrypto()],
  ['noble + nodeAead', () => createNobleBackend({ aead: nodeAead })],
]

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

/** Flip the lowest bit of the byte at `index` of a hex string. */
function flipHex(h: string, index = 0): string {
  const b = fromHex(h)
  b[index] = b[index]! ^ 1
  return toHex(b)
}

// ── batch: rebuild the bytes ─────────────────────────────────────────────────────────────

async function checkBatchBytes(c: BatchCase, crypto: CryptoBackend): Promise<void> {
  expect(c.publicKey).toBe(c.linkPeer)
  const items: Uint8Array[] = []
  const digests: Uint8Array[] = []
  for (const e of c.envelopes) {
    const payload = payloadOfFields(e.fields)
    expect(toHex(payload)).toBe(e.payload)
    const recipient = fromHex(e.recipient)
    const timestamp = BigInt(e.timestamp)
    if (e.declaredLength !== undefined) expect(e.declaredLength).not.toBe(payload.length)
    // item = u32 len(payload) ‖ payload ‖ bytes32 recipient ‖ u64 timestamp
    const item = cat(be(e.declaredLength ?? payload.length, 4), payload, recipient, be(timestamp, 8))
    expect(toHex(item)).toBe(e.item)
    const signedBytes = cat(TAG_ENVELOPE, item)
    if (e.declaredLength === undefined) {
      expect(toHex(envelopeSignedBytes(payload, recipient, timestamp))).toBe(toHex(signedBytes))
    }
    expect(toHex(signedBytes)).toBe(e.signedBytes)
    const digest = sha256(signedBytes)
    if (crypto.sha256) expect(toHex(crypto.sha256([TAG_ENVELOPE, item]))).toBe(toHex(digest))
    expect(toHex(digest)).toBe(e.digest)
    items.push(item)
    digests.push(digest)
  }
  // signed = "conclave/batch/v1" 0x00 ‖ u32 n ‖ digest_1 ‖ … ‖ digest_n
  const signedBytes = cat(TAG_BATCH, be(digests.length, 4), ...digests)
  expect(toHex(batchSignedBytes(cat(...digests)))).toBe(toHex(signedBytes))
  expect(toHex(signedBytes)).toBe(c.signedBytes)
  if (c.signatureInput !== undefined) expect(c.signatureInput).not.toBe(c.signedBytes)
  const key = await crypto.ed25519.importSeed(fromHex(c.secretKey))
  expect(toHex(key.publicKey)).toBe(c.signerPublicKey)
  if (c.valid) expect(c.signerPublicKey).toBe(c.publicKey)
  const signature = await crypto.ed25519.sign(key, fromHex(c.signatureInput ?? c.signedBytes))
  if (c.signatureOrigin === 'sign-s-plus-l') addLToS(signature)
  expect(toHex(signature)).toBe(c.signature)
  // batch = u8 0x80 ‖ u16 n ‖ item_1 ‖ … ‖ item_n ‖ signature
  if (c.count !== undefined) expect(c.count).not.toBe(items.length)
  const honest = cat(new Uint8Array([BATCH_MARKER_BYTE]), be(c.count ?? items.length, 2), ...items, signature)
  if (c.count === undefined && c.envelopes.every((e) => e.declaredLength === undefined)) {
    const libItems = c.envelopes.map((e) => ({
      payload: fromHex(e.payload),
      recipient: fromHex(e.recipient),
      timestamp: BigInt(e.timestamp),
    }))
    if (items.length >= 2) expect(toHex(encodeFullBatch(libItems, signature))).toBe(toHex(honest))
    else expect(() => encodeFullBatch(libItems, signature)).toThrow(ConclaveError)
    // the compact form written on the wire rebuilds the same bytes; its encoder refuses only
    // what it can't carry (two senders or recipients, a non-payload, fewer than two)
    let compact: Uint8Array | undefined
    try {
      compact = encodeBatch(libItems, signature)
    } catch (e) {
      if (!(e instanceof ConclaveError) || e.code !== 'INVALID_ARGUMENT') throw e
    }
    if (c.valid) expect(compact).toBeDefined()
    if (compact) expect(toHex(expandCompactBatch(compact))).toBe(toHex(honest))
    if (c.compact !== undefined && !c.mutation) expect(toHex(compact ?? new Uint8Array())).toBe(c.compact)
  }
  if (c.compact !== undefined) expect(toHex(expandCompactBatch(fromHex(c.compact)))).toBe(c.batch)
  const batch = c.mutation ? applyMutation(honest, c.mutation) : honest
  if (c.mutation) expect(toHex(batch)).not.toBe(toHex(honest))
  expect(toHex(batch)).toBe(c.batch)
}

// ── batch: a receiver written from the format ────────────────────────────────────────────

/**
 * decode (a broadcast item is refused there) → every `from` is the link's peer → one strict
 * signature by it over `"conclave/batch/v1" 0x00 ‖ u32 n ‖ digests` → each envelope in order:
 * participant → recipient → fresh → not a replay. A refused batch gives one verdict (its code);
 * a batch that passes gives one per envelope (at least two).
 */
async function designReceiveBatch(
  bytes: Uint8Array,
  ctx: ReceiverContext,
  state: ReceiverState,
  crypto: CryptoBackend,
): Promise<Verdict[]> {
  let b: ReturnType<typeof decodeBatch>
  try {
    b = decodeBatch(bytes)
  } catch (e) {
    return [codeOf(e)]
  }
  if (b.units.some((u) => toHex(u.from) !== ctx.linkPeer)) return ['ENVELOPE_WRONG_SENDER']
  // digest_i = SHA-256("conclave/msg/v1" 0x00 ‖ item_i), the SHA-256 of envelope i's signed bytes
  const digests = b.items.map((item) => sha256(cat(TAG_ENVELOPE, item)))
  const signed = cat(TAG_BATCH, be(digests.length, 4), ...digests)
  if (!(await crypto.ed25519.verify(fromHex(ctx.linkPeer), signed, b.signature))) {
    return ['ENVELOPE_BAD_SIGNATURE']
  }
  return b.units.map((u) =>
    ctx.participants.includes(ctx.linkPeer) ? afterSignature(u, ctx, state) : 'ENVELOPE_NOT_PARTICIPANT',
  )
}

/** The verdicts of any unit, envelope or batch. */
async function designReceiveAny(
  bytes: Uint8Array,
  ctx: ReceiverContext,
  state: ReceiverState,
  crypto: CryptoBackend,
): Promise<Verdict[]> {
  return isBatch(bytes)
    ? designReceiveBatch(bytes, ctx, state, crypto)
    : [await designReceive(bytes, ctx, state, crypto)]
}

/** What a batch case expects: each envelope's verdict when it passes, else its one refusal. */
const expectedBatch = (c: BatchCase): Verdict[] => c.verdicts ?? [c.error as ErrorCode]

async function designBatchVerdicts(
  c: BatchCase,
  crypto: CryptoBackend,
): Promise<{ seen: Verdict[][]; verdicts: Verdict[] }> {
  const state: ReceiverState = { streams: new Set(), seen: new Map() }
  const clockOffset = BigInt(c.clockOffset)
  const base = { receiver: c.receiver, linkPeer: c.linkPeer, participants: c.participants, clockOffset }
  const seen: Verdict[][] = []
  for (const h of c.seenBefore ?? []) {
    const unit = fromHex(h)
    // accepted when the receiver's clock (corrected by the offset) read its first timestamp
    const now = envelopesOf(unit)[0]!.timestamp - clockOffset
    seen.push(await designReceiveAny(unit, { ...base, now }, state, crypto))
  }
  const verdicts = await designReceiveBatch(fromHex(c.batch), { ...base, now: BigInt(c.now) }, state, crypto)
  return { seen, verdicts }
}

async function checkBatchCase(c: BatchCase, crypto: CryptoBackend): Promise<void> {
  await checkBatchBytes(c, crypto)
  if (c.verdicts) {
    // it decodes: the decoder's view of every envelope is the case's
    const b = decodeBatch(fromHex(c.batch))
    expect(b.items.map(toHex)).toEqual(c.envelopes.map((e) => e.item))
    expect(b.units.map((u) => [toHex(u.payload), toHex(u.recipient), u.timestamp.toString()])).toEqual(
      c.envelopes.map((e) => [e.payload, e.recipient, e.timestamp]),
    )
    expect(toHex(b.signature)).toBe(c.signature)
  }
  const { seen, verdicts } = await designBatchVerdicts(c, crypto)
  expect(seen).toEqual(seenAccepted(c.seenBefore))
  expect(verdicts).toEqual(expectedBatch(c))
}

const batchPartyEpoch = new Map(Object.values(batchFile.parties).map((p) => [p.publicKey, p.epoch]))

/**
 * A batch case on the host: the seenBefore units are accepted whole; then the batch gives the
 * case's verdicts (one refusal counted once, nothing delivered; or each envelope's verdict, the
 * accepted ones delivered in the batch's order), and every accepted body can be received.
 */
async function hostBatchOutcome(c: BatchCase, crypto: CryptoBackend): Promise<HostOutcome> {
  const sessionId = c.envelopes[0]!.fields.sessionId
  const setup = { ...c, sessionId, epoch: batchPartyEpoch.get(c.linkPeer)! }
  const offset = BigInt(c.clockOffset)
  return withHost(setup, crypto, async ({ host, send }) => {
    const delivered: { round: number; kind: string; body: string }[] = []
    const fieldsOf = (u: EnvelopeUnit) => ({ round: u.round, kind: u.kind, body: toHex(u.body) })
    for (const h of c.seenBefore ?? []) {
      const unit = fromHex(h)
      const envelopes = envelopesOf(unit)
      const got = await send(unit, Number(envelopes[0]!.timestamp - offset))
      expect(got.verdicts).toEqual(envelopes.map(() => 'accepted'))
      delivered.push(...envelopes.map(fieldsOf))
    }
    const got = await send(fromHex(c.batch), Number(c.now))
    // a batch that passed gave one verdict per envelope: those the host accepted are delivered
    if (got.verdicts.length === c.envelopes.length) {
      delivered.push(
        ...c.envelopes
          .filter((_, i) => got.verdicts[i] === 'accepted')
          .map((e) => ({ round: e.fields.round, kind: e.fields.kind, body: e.fields.body })),
      )
    }
    // what was accepted is in the inbox, in the order it was accepted
    for (const d of delivered) {
      const body = await host.receive(parseSessionId(sessionId), parsePartyId(c.linkPeer), d.round, {
        kind: d.kind,
        timeoutMs: 1000,
      })
      expect(toHex(body)).toBe(d.body)
    }
    return got
  })
}

async function checkBatchCaseOnHost(c: BatchCase, crypto: CryptoBackend): Promise<void> {
  const got = await hostBatchOutcome(c, crypto)
  const want = expectedBatch(c)
  expect(got.verdicts).toEqual(want)
  expect(got.batchesReceived).toBe(1)
  const drops: Partial<Record<ErrorCode, number>> = {}
  for (const v of want) if (v !== 'accepted') drops[v] = (drops[v] ?? 0) + 1
  expect(got.drops).toEqual(drops)
  const accepted = c.verdicts ? c.envelopes.filter((_, i) => c.verdicts![i] === 'accepted') : []
  expect(got.messages).toEqual(
    accepted.map((e) => ({ round: e.fields.round, kind: e.fields.kind, bytes: e.fields.body.length / 2 })),
  )
  // the same batch in the compact form gets the same verdicts
  if (c.compact !== undefined) {
    const compact = await hostBatchOutcome({ ...c, batch: c.compact }, crypto)
    expect(compact.verdicts).toEqual(want)
    expect(compact.drops).toEqual(drops)
    expect(compact.messages).toEqual(got.messages)
  }
}

// ── frames ────────────────────────────────────────────────────────────────────────────────

function recordFromJson(r: RecordJson): FrameRecord {
  switch (r.type) {
    case 'unit':
      return { type: RecordType.unit, unit: fromHex(r.unit) }
    case 'chunk':
      return {
        type: RecordType.chunk,
        messageId: r.messageId,
        total: r.total,
        offset: r.offset,
        data: fromHex(r.data),
      }
    case 'ack':
      return { type: RecordType.ack, seq: BigInt(r.seq) }
    case 'resume':
      return { type: RecordType.resume, seq: BigInt(r.seq) }
    case 'ping':
      return { type: RecordType.ping, value: BigInt(r.value) }
    case 'pong':
      return { type: RecordType.pong, value: BigInt(r.value) }
    case 'close':
      return { type: RecordType.close, code: r.code, reason: r.reason }
  }
}

function recordToJson(r: FrameRecord): RecordJson {
  switch (r.type) {
    case RecordType.unit:
      return { type: 'unit', unit: toHex(r.unit) }
    case RecordType.chunk:
      return { type: 'chunk', messageId: r.messageId, total: r.total, offset: r.offset, data: toHex(r.data) }
    case RecordType.ack:
      return { type: 'ack', seq: r.seq.toString() }
    case RecordType.resume:
      return { type: 'resume', seq: r.seq.toString() }
    case RecordType.ping:
      return { type: 'ping', value: r.value.toString() }
    case RecordType.pong:
      return { type: 'pong', value: r.value.toString() }
    case RecordType.close:
      return { type: 'close', code: r.code, reason: r.reason }
  }
}

/** What a data-frame receiver does (SecureChannel's order): decode, counter, open, records, reassembly. */
function receiveFrame(
  frame: Uint8Array,
  key: Uint8Array,
  expectedCounter: bigint,
  aead: Aead,
): { records: FrameRecord[]; delivered: Uint8Array[] } {
  const raw = decodeFrame(frame)
  if (raw.type !== FrameType.data)
    throw new ConclaveError('HANDSHAKE_UNEXPECTED_MESSAGE', 'handshake frame after the handshake')
  if (raw.counter !== expectedCounter) {
    throw new ConclaveError('FRAME_BAD_COUNTER', `counter ${raw.counter}, expected ${expectedCounter}`)
  }
  const plaintext = aead.open(key, frameNonce(raw.counter), raw.header, raw.body)
  const records = decodeRecords(plaintext)
  const reassembler = new Reassembler(16 * 1024 * 1024, 16 * 1024 * 1024)
  const delivered: Uint8Array[] = []
  for (const rec of records) {
    if (rec.type === RecordType.unit) delivered.push(rec.unit)
    if (rec.type === RecordType.chunk) {
      const unit = reassembler.push(rec)
      if (unit) delivered.push(unit)
    }
  }
  return { records, delivered }
}

function checkFrameCase(c: FrameCase, aead: Aead): void {
  const counter = BigInt(c.counter)
  if (c.records) expect(toHex(encodeRecords(c.records.map(recordFromJson)))).toBe(c.plaintext)
  expect(toHex(frameNonce(counter))).toBe(c.nonce)
  expect(toHex(encodeFrameHeader(FrameType.data, counter))).toBe(c.aad)
  const sealed = aead.seal(
    fromHex(c.sealKey ?? c.key),
    fromHex(c.nonce),
    fromHex(c.aad),
    fromHex(c.plaintext),
  )
  const honest = new Uint8Array([...fromHex(c.aad), ...sealed])
  const frame = c.mutation ? applyMutation(honest, c.mutation) : honest
  expect(toHex(frame)).toBe(c.frame)
  let verdict: Verdict
  try {
    const got = receiveFrame(fromHex(c.frame), fromHex(c.key), BigInt(c.expectedCounter), aead)
    verdict = 'accepted'
    expect(got.records.map(recordToJson)).toEqual(c.records)
    expect(got.delivered.map(toHex)).toEqual(c.delivered)
  } catch (e) {
    verdict = codeOf(e)
  }
  expect(verdict).toBe(expected(c))
}

// ── handshakes ────────────────────────────────────────────────────────────────────────────

const ROLES = ['initiator', 'responder'] as const
type RoleName = (typeof ROLES)[number]

interface SideOutcome {
  role: RoleName
  verdict: 'accepted' | `${'hello' | 'auth'} ${ErrorCode}`
}

/** The bytes the case says `role` itself produced, before any crafting. */
function ownMessage(c: HandshakeCase, name: HandshakeMessageName): string | undefined {
  return c.crafted?.message === name ? c.crafted.honest : c[name]
}

async function runSide(c: HandshakeCase, role: RoleName, crypto: CryptoBackend): Promise<SideOutcome> {
  const side = c[role]
  const peerSide = c[role === 'initiator' ? 'responder' : 'initiator']
  const [own, peer] =
    role === 'initiator' ? (['Initiator', 'Responder'] as const) : (['Responder', 'Initiator'] as const)
  const identity = await crypto.ed25519.importSeed(fromHex(side.secretKey))
  const hs = new Handshake({
    crypto,
    identity,
    expectedPeer: parsePartyId(side.expectedPeer),
    initiator: role === 'initiator',
    mode: side.mode,
    epoch: fromHex(side.epoch),
    now: () => Number(side.clock),
    fingerprints: side.fingerprints,
    fixed: {
      ephemeralSecret: fromHex(side.ephemeralSecret),
      nonce: fromHex(side.nonce),
      clock: BigInt(side.clock),
    },
  })
  expect(toHex(await hs.hello())).toBe(ownMessage(c, `hello${own}`))
  let step: 'hello' | 'auth' = 'hello'
  // each message goes where SecureChannel sends it, whatever its slot: a hello to onHello, an auth
  // to onAuth (the state machine refuses one out of place)
  const deliver = async (bytes: Uint8Array): Promise<Uint8Array | HandshakeResult> => {
    const msg = decodeHandshake(bytes)
    return msg.type === HandshakeType.hello ? hs.onHello(msg, bytes) : hs.onAuth(msg.signature)
  }
  try {
    const auth = await deliver(fromHex(c[`hello${peer}`]))
    if (!(auth instanceof Uint8Array)) throw new Error('an auth before any hello was accepted')
    const expectedAuth = ownMessage(c, `auth${own}`)
    if (expectedAuth !== undefined) expect(toHex(auth)).toBe(expectedAuth)
    step = 'auth'
    const peerAuth = c[`auth${peer}`]
    if (peerAuth === undefined) return { role, verdict: 'accepted' }
    const result = await deliver(fromHex(peerAuth))
    if (result instanceof Uint8Array) throw new Error('a second hello was accepted')
    expect(result.peer).toBe(side.expectedPeer)
    expect(result.peer).toBe(peerSide.publicKey)
    expect(result.version).toBe(2)
    expect(toHex(result.transcript)).toBe(c.transcript)
    expect(toHex(result.peerEpoch)).toBe(peerSide.epoch)
    expect(result.clockOffsetMs).toBe(side.clockOffsetMs)
    const [send, receive] =
      role === 'initiator'
        ? [c.keyInitiatorToResponder, c.keyResponderToInitiator]
        : [c.keyResponderToInitiator, c.keyInitiatorToResponder]
    expect(toHex(result.sendKey)).toBe(send)
    expect(toHex(result.receiveKey)).toBe(receive)
    return { role, verdict: 'accepted' }
  } catch (e) {
    return { role, verdict: `${step} ${codeOf(e)}` }
  }
}

async function checkHandshakeCase(c: HandshakeCase, crypto: CryptoBackend): Promise<void> {
  for (const role of ROLES) {
    const side = c[role]
    expect(toHex((await crypto.ed25519.importSeed(fromHex(side.secretKey))).publicKey)).toBe(side.publicKey)
    expect(toHex((await crypto.x25519.importSecret(fromHex(side.ephemeralSecret))).publicKey)).toBe(
      side.ephemeralPublic,
    )
    const other = c[role === 'initiator' ? 'responder' : 'initiator']
    expect(side.clockOffsetMs).toBe(Number(BigInt(other.clock) - BigInt(side.clock)))
  }
  if (c.transcript !== undefined) {
    const transcript = transcriptHash(fromHex(c.helloInitiator), fromHex(c.helloResponder))
    expect(toHex(transcript)).toBe(c.transcript)
    expect(toHex(authSignedBytes(0, transcript))).toBe(c.authInitiatorSignedBytes)
    expect(toHex(authSignedBytes(1, transcript))).toBe(c.authResponderSignedBytes)
    const ephI = await crypto.x25519.importSecret(fromHex(c.initiator.ephemeralSecret))
    const ephR = await crypto.x25519.importSecret(fromHex(c.responder.ephemeralSecret))
    const shared = await crypto.x25519.sharedSecret(ephI, fromHex(c.responder.ephemeralPublic))
    expect(toHex(shared)).toBe(c.sharedSecret)
    expect(toHex(await crypto.x25519.sharedSecret(ephR, fromHex(c.initiator.ephemeralPublic)))).toBe(
      c.sharedSecret,
    )
    const keys = deriveKeys(shared, transcript)
    expect(toHex(keys.initiatorToResponder)).toBe(c.keyInitiatorToResponder)
    expect(toHex(keys.responderToInitiator)).toBe(c.keyResponderToInitiator)
  }
  if (c.crafted) {
    const { message, honest, mutation, signerSecretKey, signedBytes } = c.crafted
    let crafted: Uint8Array
    if (mutation) crafted = applyMutation(fromHex(honest), mutation)
    else {
      const signer = await crypto.ed25519.importSeed(fromHex(signerSecretKey!))
      crafted = encodeAuth(await crypto.ed25519.sign(signer, fromHex(signedBytes!)))
    }
    expect(toHex(crafted)).not.toBe(honest)
    expect(toHex(crafted)).toBe(c[message])
  }
  const outcomes = [await runSide(c, 'initiator', crypto), await runSide(c, 'responder', crypto)]
  const want = ROLES.map((role) => ({
    role,
    verdict: c.refusedBy?.includes(role) ? `${c.refusedAt} ${c.error}` : 'accepted',
  }))
  expect(outcomes).toEqual(want)
}

// ── the files themselves ─────────────────────────────────────────────────────────────────

const HEX_FIELD = /^(?:[0-9a-f]{2})*$/
const BYTE_FIELDS = new Set([
  'publicKey',
  'secretKey',
  'signerPublicKey',
  'payload',
  'recipient',
  'signedBytes',
  'signatureInput',
  'signature',
  'unit',
  'receiver',
  'linkPeer',
  'sessionId',
  'from',
  'epoch',
  'body',
  'key',
  'sealKey',
  'plaintext',
  'nonce',
  'aad',
  'frame',
  'data',
  'ephemeralSecret',
  'ephemeralPublic',
  'expectedPeer',
  'helloInitiator',
  'helloResponder',
  'transcript',
  'authInitiatorSignedBytes',
  'authResponderSignedBytes',
  'authInitiator',
  'authResponder',
  'sharedSecret',
  'keyInitiatorToResponder',
  'keyResponderToInitiator',
  'honest',
  'signerSecretKey',
  'mask',
  'bytes',
  'item',
  'digest',
  'batch',
])

/** Every byte field (at any depth) is lowercase hex, and every integer is a safe JS number. */
function checkEncoding(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      checkEncoding(v, `${path}[${i}]`)
    })
    return
  }
  if (typeof value === 'number') expect(Number.isSafeInteger(value), path).toBe(true)
  if (typeof value !== 'object' || value === null) return
  for (const [k, v] of Object.entries(value)) {
    if (BYTE_FIELDS.has(k) && typeof v === 'string') expect(v, `${path}.${k}`).toMatch(HEX_FIELD)
    if ((k === 'participants' || k === 'seenBefore' || k === 'delivered') && Array.isArray(v)) {
      for (const h of v) expect(h, `${path}.${k}`).toMatch(HEX_FIELD)
    }
    checkEncoding(v, `${path}.${k}`)
  }
}

describe.each([
  ['envelope.json', envelopeFile],
  ['batch.json', batchFile],
  ['frame.json', frameFile],
  ['handshake.json', handshakeFile],
] as const)('%s', (_name, file: VectorFile<BaseCase>) => {
  it('is version 1, with unique names, a code exactly on the failing cases, lowercase hex bytes', () => {
    expect(file.version).toBe(1)
    expect(file.source.length).toBeGreaterThan(0)
    expect(file.cases.length).toBeGreaterThan(0)
    expect(new Set(file.cases.map((c) => c.name)).size).toBe(file.cases.length)
    for (const c of file.cases) {
      expect(typeof c.valid, c.name).toBe('boolean')
      if (c.valid) expect(c.error, c.name).toBeUndefined()
      else expect(isErrorCode(c.error), `${c.name}: ${c.error}`).toBe(true)
    }
    expect(file.cases.some((c) => c.valid)).toBe(true)
    checkEncoding(file.cases, 'cases')
  })
})

it('the vectors cover every failure DESIGN and the brief name', () => {
  const codes = (cases: BaseCase[]): Set<string | undefined> => new Set(cases.map((c) => c.error))
  const envelope = codes(envelopeFile.cases)
  for (const code of [
    'ENVELOPE_BAD_SIGNATURE',
    'ENVELOPE_WRONG_RECIPIENT',
    'ENVELOPE_STALE',
    'ENVELOPE_REPLAY',
    'ENVELOPE_WRONG_SENDER',
    'ENVELOPE_NOT_PARTICIPANT',
    'DECODE_UNKNOWN_VERSION',
    'DECODE_SHORT_INPUT',
    'DECODE_TRAILING_BYTES',
  ]) {
    expect(envelope.has(code), code).toBe(true)
  }
  expect(
    envelopeFile.cases
      .filter((c) => c.signatureOrigin !== 'sign')
      .map((c) => c.signatureOrigin)
      .sort(),
  ).toEqual(['forged-identity-key', 'sign-s-plus-l'])
  expect(envelopeFile.cases.some((c) => c.signatureInput !== undefined)).toBe(true)
  const frame = codes(frameFile.cases)
  for (const code of [
    'FRAME_DECRYPT_FAILED',
    'FRAME_BAD_COUNTER',
    'DECODE_UNKNOWN_TYPE',
    'DECODE_SHORT_INPUT',
    'DECODE_TRAILING_BYTES',
    'DECODE_BAD_UTF8',
    'CHUNK_INVALID',
    'MESSAGE_TOO_LARGE',
    'HANDSHAKE_UNEXPECTED_MESSAGE',
  ]) {
    expect(frame.has(code), code).toBe(true)
  }
  const batch = codes(batchFile.cases)
  for (const code of [
    'ENVELOPE_BAD_SIGNATURE',
    'ENVELOPE_WRONG_SENDER',
    'ENVELOPE_WRONG_RECIPIENT',
    'ENVELOPE_NOT_PARTICIPANT',
    'ENVELOPE_STALE',
    'ENVELOPE_REPLAY',
    'DECODE_BAD_LENGTH',
    'DECODE_SHORT_INPUT',
    'DECODE_TRAILING_BYTES',
  ]) {
    expect(batch.has(code), code).toBe(true)
  }
  // valid batches of 2 and 3; a count of 1 and one over 1024; a declared length that disagrees;
  // a signature made over other bytes (other digests, another order, another context)
  const sizes = new Set(batchFile.cases.filter((c) => c.valid).map((c) => c.envelopes.length))
  expect(sizes.has(2) && sizes.has(3)).toBe(true)
  const counts = batchFile.cases.map((c) => c.count ?? c.envelopes.length)
  expect(counts.includes(1) && counts.includes(1025)).toBe(true)
  expect(batchFile.cases.some((c) => c.envelopes.some((e) => e.declaredLength !== undefined))).toBe(true)
  expect(batchFile.cases.filter((c) => c.signatureInput !== undefined).length).toBeGreaterThanOrEqual(3)
  const handshake = codes(handshakeFile.cases)
  for (const code of [
    'HANDSHAKE_BAD_SIGNATURE',
    'HANDSHAKE_UNEXPECTED_PEER',
    'HANDSHAKE_MODE_MISMATCH',
    'FINGERPRINT_MISMATCH',
    'HANDSHAKE_WEAK_KEY',
    'DECODE_UNKNOWN_VERSION',
    'HANDSHAKE_VERSION_MISMATCH',
    'HANDSHAKE_SELF',
    'HANDSHAKE_UNEXPECTED_MESSAGE',
    'DECODE_SHORT_INPUT',
    'DECODE_TRAILING_BYTES',
    'DECODE_UNKNOWN_TYPE',
    'DECODE_BAD_LENGTH',
    'DECODE_BAD_UTF8',
  ]) {
    expect(handshake.has(code), code).toBe(true)
  }
  // a message of unknown type, and one out of place, in the hello's slot and in the auth's
  for (const [code, at] of [
    ['DECODE_UNKNOWN_TYPE', 'hello'],
    ['DECODE_UNKNOWN_TYPE', 'auth'],
    ['HANDSHAKE_UNEXPECTED_MESSAGE', 'hello'],
    ['HANDSHAKE_UNEXPECTED_MESSAGE', 'auth'],
  ]) {
    expect(
      handshakeFile.cases.some((c) => c.error === code && c.refusedAt === at),
      `${code} at ${at}`,
    ).toBe(true)
  }
  // only the small-order case cannot be driven through a real handshake
  expect(envelopeFile.cases.length - hostCases.length).toBe(1)
  expect(batchFile.cases.every((c) => partySeeds.has(c.linkPeer) && partySeeds.has(c.receiver))).toBe(true)
})

it('batch.json: a verdict per envelope exactly when the batch passes, and valid when all are accepted', () => {
  for (const c of batchFile.cases) {
    if (c.verdicts) {
      expect(c.verdicts.length, c.name).toBe(c.envelopes.length)
      expect(c.verdicts.length, c.name).toBeGreaterThanOrEqual(2)
      const refused = c.verdicts.find((v) => v !== 'accepted')
      expect(c.valid, c.name).toBe(refused === undefined)
      expect(c.error, c.name).toBe(refused)
      for (const v of c.verdicts) expect(v === 'accepted' || isErrorCode(v), `${c.name}: ${v}`).toBe(true)
    } else {
      expect(c.valid, c.name).toBe(false)
    }
  }
})

// ── every case on every backend ──────────────────────────────────────────────────────────

describe.each(BACKENDS)('backend %s', (_name, makeBackend) => {
  const crypto = makeBackend()

  describe('envelope.json: bytes and the DESIGN pipeline', () => {
    it.each(envelopeFile.cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await checkEnvelopeCase(c, crypto)
    })
  })

  describe('envelope.json: the real session host over a memory link', () => {
    it.each(hostCases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await checkEnvelopeCaseOnHost(c, crypto)
    })
  })

  describe('batch.json: bytes, decodeBatch and the batch signature', () => {
    it.each(batchFile.cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await checkBatchCase(c, crypto)
    })
  })

  describe('batch.json: the real session host over a memory link', () => {
    it.each(batchFile.cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await checkBatchCaseOnHost(c, crypto)
    })
  })

  describe('frame.json', () => {
    it.each(frameFile.cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      checkFrameCase(c, crypto.aead)
    })
  })

  describe('handshake.json', () => {
    it.each(handshakeFile.cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await checkHandshakeCase(c, crypto)
    })
  })
})

describe('the backends agree', () => {
  const backends = BACKENDS.map(([name, make]) => [name, make()] as const)

  it('on every envelope signature and verdict', async () => {
    for (const c of envelopeFile.cases) {
      const verdicts = new Set<string>()
      const signatures = new Set<string>()
      for (const [, crypto] of backends) {
        verdicts.add((await designVerdicts(c, crypto)).verdict)
        if (c.signatureOrigin === 'sign') {
          const key = await crypto.ed25519.importSeed(fromHex(c.secretKey!))
          signatures.add(toHex(await crypto.ed25519.sign(key, fromHex(c.signatureInput ?? c.signedBytes))))
        }
      }
      expect([...verdicts], c.name).toEqual([expected(c)])
      if (c.signatureOrigin === 'sign') expect([...signatures], c.name).toEqual([c.signature])
    }
  })

  it('on every batch signature and verdict', async () => {
    for (const c of batchFile.cases) {
      const verdicts = new Set<string>()
      const signatures = new Set<string>()
      for (const [, crypto] of backends) {
        verdicts.add(JSON.stringify((await designBatchVerdicts(c, crypto)).verdicts))
        const key = await crypto.ed25519.importSeed(fromHex(c.secretKey))
        const signature = await crypto.ed25519.sign(key, fromHex(c.signatureInput ?? c.signedBytes))
        if (c.signatureOrigin === 'sign-s-plus-l') addLToS(signature)
        signatures.add(toHex(signature))
      }
      expect([...verdicts], c.name).toEqual([JSON.stringify(expectedBatch(c))])
      expect([...signatures], c.name).toEqual([c.signature])
    }
  })

  it('on every frame verdict, and each AEAD opens what the other sealed', () => {
    for (const c of frameFile.cases) {
      const verdicts = new Set<string>()
      for (const [, crypto] of backends) {
        try {
          receiveFrame(fromHex(c.frame), fromHex(c.key), BigInt(c.expectedCounter), crypto.aead)
          verdicts.add('accepted')
        } catch (e) {
          verdicts.add(codeOf(e))
        }
      }
      expect([...verdicts], c.name).toEqual([expected(c)])
    }
  })

  it('on every handshake auth message', async () => {
    for (const c of handshakeFile.cases.filter((x) => x.transcript !== undefined)) {
      for (const role of ROLES) {
        const side = c[role]
        const signed = role === 'initiator' ? c.authInitiatorSignedBytes! : c.authResponderSignedBytes!
        const auths = new Set<string>()
        for (const [, crypto] of backends) {
          const key = await crypto.ed25519.importSeed(fromHex(side.secretKey))
          auths.add(toHex(encodeAuth(await crypto.ed25519.sign(key, fromHex(signed)))))
        }
        expect(auths.size, `${c.name} ${role}`).toBe(1)
      }
    }
  })
})

// ── the checks catch a wrong vector ──────────────────────────────────────────────────────

describe('a wrong vector fails', () => {
  const crypto = createNobleBackend()
  const validEnvelope = envelopeFile.cases.find((c) => c.valid && !c.seenBefore)!
  const validFrame = frameFile.cases.find((c) => c.valid && c.records?.[0]?.type === 'unit')!
  const validHandshake = handshakeFile.cases.find((c) => c.valid)!
  const validBatch = batchFile.cases.find((c) => c.valid && !c.seenBefore)!

  it('the unmodified cases pass', async () => {
    await checkEnvelopeCase(validEnvelope, crypto)
    await checkEnvelopeCaseOnHost(validEnvelope, crypto)
    await checkBatchCase(validBatch, crypto)
    await checkBatchCaseOnHost(validBatch, crypto)
    checkFrameCase(validFrame, nobleAead)
    await checkHandshakeCase(validHandshake, crypto)
  })

  it('envelope: one byte of the unit flipped (the receivers refuse it, the bytes no longer match)', async () => {
    const bad = clone(validEnvelope)
    bad.unit = flipHex(bad.unit, 60)
    await expect(checkEnvelopeCase(bad, crypto)).rejects.toThrow()
    expect((await designVerdicts(bad, crypto)).verdict).not.toBe('accepted')
    expect((await hostVerdicts(bad, crypto)).verdict).not.toEqual(['accepted'])
  })

  it('batch: one byte of a body flipped (the receivers refuse it, the bytes no longer match)', async () => {
    const bad = clone(validBatch)
    bad.batch = flipHex(bad.batch, bad.batch.length / 2 - 80)
    await expect(checkBatchCase(bad, crypto)).rejects.toThrow()
    expect((await designBatchVerdicts(bad, crypto)).verdicts).toEqual(['ENVELOPE_BAD_SIGNATURE'])
    expect((await hostBatchOutcome(bad, crypto)).verdicts).toEqual(['ENVELOPE_BAD_SIGNATURE'])
  })

  it('batch: a digest, the signed bytes, the signature, the clock or a verdict changed', async () => {
    for (const change of [
      (c: BatchCase) => {
        c.envelopes[1]!.digest = flipHex(c.envelopes[1]!.digest, 3)
      },
      (c: BatchCase) => {
        c.signedBytes = flipHex(c.signedBytes, 30)
      },
      (c: BatchCase) => {
        c.signature = flipHex(c.signature, 10)
      },
      (c: BatchCase) => {
        c.now = (BigInt(c.now) + 60_000n).toString()
      },
      (c: BatchCase) => {
        c.verdicts = ['accepted', 'ENVELOPE_REPLAY']
      },
    ]) {
      const bad = clone(validBatch)
      change(bad)
      await expect(checkBatchCase(bad, crypto)).rejects.toThrow()
    }
  })

  it('envelope: one byte of the signature, the signed bytes or the clock changed', async () => {
    for (const change of [
      (c: EnvelopeCase) => {
        c.signature = flipHex(c.signature, 10)
      },
      (c: EnvelopeCase) => {
        c.signedBytes = flipHex(c.signedBytes, 20)
      },
      (c: EnvelopeCase) => {
        c.now = (BigInt(c.now) + 60_000n).toString()
      },
      (c: EnvelopeCase) => {
        c.error = 'ENVELOPE_STALE'
        c.valid = false
      },
    ]) {
      const bad = clone(validEnvelope)
      change(bad)
      await expect(checkEnvelopeCase(bad, crypto)).rejects.toThrow()
    }
  })

  it('frame: one byte of the frame or of the key flipped', () => {
    const bad = clone(validFrame)
    bad.frame = flipHex(bad.frame, 12)
    expect(() => checkFrameCase(bad, nobleAead)).toThrow()
    const badKey = clone(validFrame)
    badKey.key = flipHex(badKey.key)
    expect(() => checkFrameCase(badKey, nobleAead)).toThrow()
  })

  it('handshake: one byte of a key, the transcript or a hello flipped', async () => {
    for (const field of [
      'keyInitiatorToResponder',
      'transcript',
      'helloResponder',
      'authInitiator',
    ] as const) {
      const bad = clone(validHandshake)
      bad[field] = flipHex(bad[field]!, 5)
      await expect(checkHandshakeCase(bad, crypto), field).rejects.toThrow()
    }
  })
})
