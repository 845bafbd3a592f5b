/**
 * envelope.json against the real code, on any platform (Node, a browser page, a Web Worker): no
 * test runner in here, so that a Worker can run it too. Each check throws an Error naming what
 * differed; a refusal's verdict is its code, never its message.
 *
 * For a case: its bytes are rebuilt from its inputs (the package's encoders, the backend's
 * Ed25519) and compared byte for byte (`checkEnvelopeBytes`); then two receivers give their
 * verdicts: a small one written from DESIGN's pipeline order (`designVerdicts`) and the real
 * InThreadSessionHost fed over a memory link by an authenticated SecureChannel (`hostVerdicts`).
 * `vectors.node.test.ts` runs it on Node's backends (and builds the batch checks on its pieces);
 * `e2e/browser/envelope-vectors.browser.test.ts` in browsers, on the page and in a Worker.
 */
import {
  ConclaveError,
  type CryptoBackend,
  type ErrorCode,
  errorCode,
  fromHex,
  type PartyEvent,
  parsePartyId,
  parseSessionId,
  toHex,
} from '@conclave/core'
import { SecureChannel } from '@conclave/core/channel'
import { InThreadSessionHost } from '@conclave/core/host'
import { createMemoryNetwork, type Link } from '@conclave/core/transport'
import {
  decodeBatch,
  decodeUnit,
  type EnvelopeUnit,
  encodePayload,
  encodeUnit,
  envelopeSignedBytes,
  RecordType,
} from '@conclave/core/wire'
import batchJson from './vectors/batch.json'
import envelopeJson from './vectors/envelope.json'

// ── schema ────────────────────────────────────────────────────────────────────────────────

/** How a failing case's bytes were made from honest ones (see vectors/README.md, Mutations). */
export type Mutation =
  | { op: 'xor'; offset: number; mask: string }
  | { op: 'replace'; offset: number; bytes: string }
  | { op: 'truncate'; length: number }
  | { op: 'append'; bytes: string }
  | { op: 'set'; bytes: string }

/** What every case of every vector file has. */
export interface BaseCase {
  name: string
  description: string
  valid: boolean
  error?: string
}

/** One case of envelope.json (its fields: vectors/README.md). */
export interface EnvelopeCase extends BaseCase {
  publicKey: string
  secretKey?: string
  signerPublicKey?: string
  signatureOrigin: 'sign' | 'sign-s-plus-l' | 'forged-identity-key'
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
  payload: string
  recipient: string
  timestamp: string
  signedBytes: string
  signatureInput?: string
  signature: string
  mutation?: Mutation
  unit: string
  now: string
  clockOffset: string
  receiver: string
  linkPeer: string
  participants: string[]
  seenBefore?: string[]
}

/** A vector file: `{ version, source, cases }`. */
export interface VectorFile<C> {
  version: number
  source: string
  cases: C[]
}

/** The party keys envelope.json's descriptions name (alice, bob, carol, mallory). */
export interface VectorParty {
  secretKey: string
  publicKey: string
}

// The JSON imports are typed by their contents; vectors.node.test.ts checks their shape.
/** envelope.json. */
export const envelopeFile = envelopeJson as unknown as VectorFile<EnvelopeCase> & {
  parties: Record<string, VectorParty>
}
const batchParties = (batchJson as unknown as { parties: Record<string, VectorParty> }).parties

// ── helpers ───────────────────────────────────────────────────────────────────────────────

/** Throw unless `actual` and `wanted` are the same (compared as JSON; bigints as strings). */
export function same(actual: unknown, wanted: unknown, what: string): void {
  const json = (v: unknown): string =>
    v === undefined ? 'undefined' : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))
  if (json(actual) !== json(wanted)) throw new Error(`${what}: expected ${json(wanted)}, got ${json(actual)}`)
}

/** Verdict of a receiver: `'accepted'` or the refusal's code. */
export type Verdict = 'accepted' | ErrorCode

/** What a case expects: `'accepted'` or its code. */
export const expected = (c: BaseCase): string => (c.valid ? 'accepted' : c.error!)

/** The bytes a receiver gets: `b` with the mutation `m` applied. */
export function applyMutation(b: Uint8Array, m: Mutation): Uint8Array {
  switch (m.op) {
    case 'xor': {
      const out = b.slice()
      const mask = fromHex(m.mask)
      mask.forEach((x, i) => {
        out[m.offset + i] = out[m.offset + i]! ^ x
      })
      return out
    }
    case 'replace': {
      const out = b.slice()
      out.set(fromHex(m.bytes), m.offset)
      return out
    }
    case 'truncate':
      return b.slice(0, m.length)
    case 'append': {
      const add = fromHex(m.bytes)
      const out = new Uint8Array(b.length + add.length)
      out.set(b)
      out.set(add, b.length)
      return out
    }
    case 'set':
      return fromHex(m.bytes)
  }
}

/** The code of a refusal; anything that is not a ConclaveError (an assertion) is rethrown. */
export function codeOf(e: unknown): ErrorCode {
  const code = errorCode(e)
  if (code === undefined) throw e
  return code
}

const ZERO32 = '0'.repeat(64)
const SKEW_MS = 30_000n
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const BASE_POINT = '5866666666666666666666666666666666666666666666666666666666666666'

/** `n` big-endian in `size` bytes (written here, not with the package's Writer). */
export function be(n: bigint | number, size: number): Uint8Array {
  let v = BigInt(n)
  const out = new Uint8Array(size)
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** The concatenation of `parts`. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** A signed context's tag: the ASCII name and one 0x00 byte (DESIGN, "Signed contexts"). */
const contextTag = (name: string): Uint8Array => cat(new TextEncoder().encode(name), new Uint8Array(1))
/** The envelope signature's context tag. */
export const TAG_ENVELOPE = contextTag('conclave/msg/v1')
/** The batch signature's context tag. */
export const TAG_BATCH = contextTag('conclave/batch/v1')
/** The first byte of a batch unit. */
export const BATCH_MARKER_BYTE = 0x80

/** The signature with L added to S (little-endian, bytes 32..64), in place. */
export function addLToS(signature: Uint8Array): void {
  let s = 0n
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!)
  s += L
  for (let i = 32; i < 64; i++) {
    signature[i] = Number(s & 0xffn)
    s >>= 8n
  }
}

// ── envelope: rebuild the bytes ──────────────────────────────────────────────────────────

/** A vector's payload bytes, encoded from its fields (the version byte as the case gives it). */
export function payloadOfFields(f: EnvelopeCase['fields']): Uint8Array {
  const payload = encodePayload({
    sessionId: fromHex(f.sessionId),
    round: f.round,
    kind: f.kind,
    from: fromHex(f.from),
    epoch: fromHex(f.epoch),
    seq: BigInt(f.seq),
    body: fromHex(f.body),
  })
  payload[0] = f.version
  return payload
}

/** Rebuild a case's bytes from its inputs and throw at the first that differs from the case's. */
export async function checkEnvelopeBytes(c: EnvelopeCase, crypto: CryptoBackend): Promise<void> {
  const f = c.fields
  same(c.publicKey, f.from, 'publicKey is fields.from')
  const payload = payloadOfFields(f)
  same(toHex(payload), c.payload, 'payload')
  const signedBytes = envelopeSignedBytes(payload, fromHex(c.recipient), BigInt(c.timestamp))
  same(toHex(signedBytes), c.signedBytes, 'signedBytes')
  let signature: Uint8Array
  if (c.signatureOrigin === 'forged-identity-key') {
    same(c.secretKey, undefined, 'secretKey of a forged signature')
    signature = fromHex(BASE_POINT + '01'.padEnd(64, '0'))
  } else {
    const key = await crypto.ed25519.importSeed(fromHex(c.secretKey!))
    same(toHex(key.publicKey), c.signerPublicKey, 'signerPublicKey')
    if (c.valid) same(c.signerPublicKey, c.publicKey, 'signer of a valid case')
    signature = await crypto.ed25519.sign(key, fromHex(c.signatureInput ?? c.signedBytes))
    if (c.signatureOrigin === 'sign-s-plus-l') addLToS(signature)
  }
  same(toHex(signature), c.signature, 'signature')
  const honest = encodeUnit(payload, fromHex(c.recipient), BigInt(c.timestamp), signature)
  const unit = c.mutation ? applyMutation(honest, c.mutation) : honest
  if (c.mutation && toHex(unit) === toHex(honest)) throw new Error('the mutation changes nothing')
  same(toHex(unit), c.unit, 'unit')
}

// ── envelope: a receiver written from DESIGN's pipeline order ────────────────────────────

/** What a receiver remembers between units. */
export interface ReceiverState {
  /** Streams `(sessionId, from, epoch)` already seen: freshness is checked at a stream's first unit. */
  streams: Set<string>
  /** `(sessionId, from, to, epoch)` → sequence numbers accepted. */
  seen: Map<string, Set<bigint>>
}

/** Who receives, from whom, among whom, and when. */
export interface ReceiverContext {
  receiver: string
  linkPeer: string
  participants: readonly string[]
  now: bigint
  clockOffset: bigint
}

/** decode → sender is the link's peer → participant → strict signature → recipient → fresh → not a replay. */
export async function designReceive(
  bytes: Uint8Array,
  ctx: ReceiverContext,
  state: ReceiverState,
  crypto: CryptoBackend,
): Promise<Verdict> {
  let u: ReturnType<typeof decodeUnit>
  try {
    u = decodeUnit(bytes)
  } catch (e) {
    return codeOf(e)
  }
  const from = toHex(u.from)
  if (from !== ctx.linkPeer) return 'ENVELOPE_WRONG_SENDER'
  if (!ctx.participants.includes(from)) return 'ENVELOPE_NOT_PARTICIPANT'
  const ok = await crypto.ed25519.verify(
    u.from,
    envelopeSignedBytes(u.payload, u.recipient, u.timestamp),
    u.signature,
  )
  if (!ok) return 'ENVELOPE_BAD_SIGNATURE'
  return afterSignature(u, ctx, state)
}

/** The checks after the signature: recipient → fresh → not a replay; records what it accepts. */
export function afterSignature(u: EnvelopeUnit, ctx: ReceiverContext, state: ReceiverState): Verdict {
  const from = toHex(u.from)
  const recipient = toHex(u.recipient)
  const forMe =
    recipient === ctx.receiver || (recipient === ZERO32 && ctx.participants.includes(ctx.receiver))
  if (!forMe) return 'ENVELOPE_WRONG_RECIPIENT'
  const stream = `${toHex(u.sessionId)}|${from}|${toHex(u.epoch)}`
  if (!state.streams.has(stream)) {
    const skew = u.timestamp - (ctx.now + ctx.clockOffset)
    if (skew > SKEW_MS || -skew > SKEW_MS) return 'ENVELOPE_STALE'
  }
  const replayKey = `${toHex(u.sessionId)}|${from}|${recipient}|${toHex(u.epoch)}`
  const seqs = state.seen.get(replayKey) ?? new Set<bigint>()
  if (seqs.has(u.seq)) return 'ENVELOPE_REPLAY'
  state.streams.add(stream)
  seqs.add(u.seq)
  state.seen.set(replayKey, seqs)
  return 'accepted'
}

/** Verdicts of the seenBefore units (each at its own time) and of the case's unit. */
export async function designVerdicts(
  c: EnvelopeCase,
  crypto: CryptoBackend,
): Promise<{ seen: Verdict[]; verdict: Verdict }> {
  const state: ReceiverState = { streams: new Set(), seen: new Map() }
  const clockOffset = BigInt(c.clockOffset)
  const base = { receiver: c.receiver, linkPeer: c.linkPeer, participants: c.participants, clockOffset }
  const seen: Verdict[] = []
  for (const h of c.seenBefore ?? []) {
    const unit = fromHex(h)
    // accepted when the receiver's clock (corrected by the offset) read the unit's own timestamp
    const now = decodeUnit(unit).timestamp - clockOffset
    seen.push(await designReceive(unit, { ...base, now }, state, crypto))
  }
  const verdict = await designReceive(fromHex(c.unit), { ...base, now: BigInt(c.now) }, state, crypto)
  return { seen, verdict }
}

/** A case's bytes and the DESIGN receiver's verdicts; throws at the first difference. */
export async function checkEnvelopeCase(c: EnvelopeCase, crypto: CryptoBackend): Promise<void> {
  await checkEnvelopeBytes(c, crypto)
  const { seen, verdict } = await designVerdicts(c, crypto)
  same(
    seen,
    (c.seenBefore ?? []).map(() => 'accepted'),
    `${c.name}: seenBefore verdicts`,
  )
  same(verdict, expected(c), `${c.name}: verdict`)
}

/** Whether a unit is a batch. */
export const isBatch = (unit: Uint8Array): boolean => unit[0] === BATCH_MARKER_BYTE

/** A unit's envelopes: one, or a batch's. */
export const envelopesOf = (unit: Uint8Array): EnvelopeUnit[] =>
  isBatch(unit) ? decodeBatch(unit).units : [decodeUnit(unit)]

/** What the seenBefore units of a case must give: every envelope accepted. */
export const seenAccepted = (seenBefore: readonly string[] | undefined): Verdict[][] =>
  (seenBefore ?? []).map((h) => envelopesOf(fromHex(h)).map(() => 'accepted'))

// ── the real session host over a memory link ─────────────────────────────────────────────

/** Every vector party's seed, by public key. */
export const partySeeds = new Map(
  [...Object.values(envelopeFile.parties), ...Object.values(batchParties)].map((p) => [
    p.publicKey,
    p.secretKey,
  ]),
)

/**
 * Holds the frames arriving at one end until that end has sent its own hello. Works around a race
 * in `SecureChannel.start()`: it marks the channel `handshaking` before its own hello is computed
 * (asynchronous: with WebCrypto, an X25519 import takes real time), so a peer hello arriving
 * meanwhile is refused with `HANDSHAKE_UNEXPECTED_MESSAGE` ("hello before our own"). On a real
 * network the peer's hello comes a round trip later; the vectors are not about that race.
 */
function helloGate(): {
  sent(): void
  hold(deliver: (frame: Uint8Array) => void): (frame: Uint8Array) => void
} {
  let open = false
  const held: (() => void)[] = []
  return {
    sent() {
      if (open) return
      open = true
      queueMicrotask(() => {
        for (const d of held.splice(0)) d()
      })
    },
    hold(deliver) {
      return (frame) => {
        if (open && held.length === 0) deliver(frame)
        else held.push(() => deliver(frame))
      }
    },
  }
}

/** The receiver, its session and the link peer of a case. */
interface HostSetup {
  receiver: string
  linkPeer: string
  participants: readonly string[]
  sessionId: string
  /** The link peer's stream epoch, as its hello reports it. */
  epoch: string
  clockOffset: string
  /** The receiver's clock during the handshake. */
  now: string
}

/** What the host did with one unit, from its events and counters. */
export interface HostOutcome {
  /** `'accepted'` per `message` event, the code per `drop` event, in order. */
  verdicts: Verdict[]
  /** The `message` events, in order. */
  messages: { round: number; kind: string; bytes: number }[]
  /** How many refusals the counters gained, by code. */
  drops: Partial<Record<ErrorCode, number>>
  batchesReceived: number
}

interface HostRun {
  host: InThreadSessionHost
  /** Deliver `unit` with the receiver's clock at `clock`; resolves once the host acknowledged it. */
  send(unit: Uint8Array, clock: number): Promise<HostOutcome>
}

/**
 * Run `body` against a real InThreadSessionHost for `setup.receiver`, with the session open and the
 * link peer connected over an authenticated memory link. A unit is done when the host's cumulative
 * ack covers it: the host acknowledges a unit once processed, accepted or refused, so every event
 * the unit causes has been emitted by then.
 */
export async function withHost<T>(
  setup: HostSetup,
  crypto: CryptoBackend,
  body: (run: HostRun) => Promise<T>,
): Promise<T> {
  const receiver = parsePartyId(setup.receiver)
  const peer = parsePartyId(setup.linkPeer)
  const offset = Number(setup.clockOffset)
  let clock = Number(setup.now)
  let outcome: HostOutcome = { verdicts: [], messages: [], drops: {}, batchesReceived: 0 }
  let acked = 0n
  let wake: (() => void) | undefined
  const onEvent = (e: PartyEvent): void => {
    if (e.type === 'drop') outcome.verdicts.push(e.code)
    else if (e.type === 'message') {
      outcome.verdicts.push('accepted')
      outcome.messages.push({ round: e.round, kind: e.kind, bytes: e.bytes })
    }
  }

  const host = new InThreadSessionHost({
    crypto,
    identity: await crypto.ed25519.importSeed(fromHex(partySeeds.get(receiver)!)),
    now: () => clock,
    // the test moves the clock by minutes: no keepalive may judge the link silent meanwhile
    limits: { keepaliveMs: 0 },
  })
  const links = new Map<string, Link>()
  const receiverGate = helloGate()
  const peerGate = helloGate()
  host.connect({
    sendFrame: (linkId, frame) => {
      links.get(linkId)?.send(frame)
      receiverGate.sent()
    },
    closeLink: (linkId, code, reason) => links.get(linkId)?.close(code, reason),
    requestLink: () => {},
    event: onEvent,
  })
  host.openSession({
    id: parseSessionId(setup.sessionId),
    participants: setup.participants.map(parsePartyId),
  })

  const net = createMemoryNetwork()
  const receiverTransport = net.transport()
  const peerTransport = net.transport()
  const peerKey = await crypto.ed25519.importSeed(fromHex(partySeeds.get(peer)!))
  let channel: SecureChannel | undefined
  const ready = new Promise<void>((resolve, reject) => {
    receiverTransport.onLink((link) => {
      links.set(link.id, link)
      host.linkOpened({
        linkId: link.id,
        peer: link.peer,
        initiator: link.initiator,
        kind: link.kind,
        maxFrameSize: link.maxMessageSize,
      })
      link.onMessage(receiverGate.hold((frame) => host.linkFrame(link.id, frame)))
      link.onClose((code, reason) => host.linkClosed(link.id, code, reason))
    })
    peerTransport.onLink((link) => {
      const ch = new SecureChannel(
        {
          crypto,
          identity: peerKey,
          expectedPeer: receiver,
          initiator: link.initiator,
          mode: 'conclave',
          epoch: fromHex(setup.epoch),
          // the sender's clock, as its hello reports it: the receiver measures the offset from it
          now: () => clock + offset,
          maxFrameSize: link.maxMessageSize,
        },
        {
          sendFrame: (frame) => {
            link.send(frame)
            peerGate.sent()
          },
          ready: () => {
            // the delivery layer: units on this link are numbered from 0
            ch.sendRecord({ type: RecordType.resume, seq: 0n })
            resolve()
          },
          unit: () => undefined,
          record: (rec) => {
            if (rec.type === RecordType.ack && rec.seq > acked) {
              acked = rec.seq
              wake?.()
            }
          },
          closed: (code, reason) =>
            reject(new ConclaveError(code, `the link closed before it was ready: ${code} ${reason}`)),
        },
      )
      channel = ch
      link.onMessage(peerGate.hold((frame) => ch.receive(frame)))
      void ch.start()
    })
  })
  let sent = 0n
  const send = async (unit: Uint8Array, at: number): Promise<HostOutcome> => {
    clock = at
    const before = host.counters()
    outcome = { verdicts: [], messages: [], drops: {}, batchesReceived: 0 }
    channel!.sendUnit(unit)
    channel!.flush()
    sent++
    const deadline = Date.now() + 5000
    while (acked < sent) {
      if (Date.now() > deadline) {
        throw new Error(`the host did not acknowledge the unit within 5 s (events: ${outcome.verdicts})`)
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 50)
      })
    }
    const after = host.counters()
    for (const [code, n] of Object.entries(after.drops) as [ErrorCode, number][]) {
      const gained = n - (before.drops[code] ?? 0)
      if (gained !== 0) outcome.drops[code] = gained
    }
    outcome.batchesReceived = after.batchesReceived - before.batchesReceived
    return outcome
  }
  try {
    await receiverTransport.start(receiver)
    await peerTransport.start(peer)
    await peerTransport.connect(receiver)
    await ready
    return await body({ host, send })
  } finally {
    host.stop()
    await peerTransport.stop()
    await receiverTransport.stop()
  }
}

/** Deliver an envelope case's units to the host: the events of each seenBefore unit and of the case's. */
export async function hostVerdicts(
  c: EnvelopeCase,
  crypto: CryptoBackend,
): Promise<{ seen: Verdict[][]; verdict: Verdict[] }> {
  const setup = { ...c, sessionId: c.fields.sessionId, epoch: c.fields.epoch }
  return withHost(setup, crypto, async ({ send }) => {
    const seen: Verdict[][] = []
    for (const h of c.seenBefore ?? []) {
      const unit = fromHex(h)
      seen.push((await send(unit, Number(decodeUnit(unit).timestamp - BigInt(c.clockOffset)))).verdicts)
    }
    const verdict = (await send(fromHex(c.unit), Number(c.now))).verdicts
    return { seen, verdict }
  })
}

/** A case's verdicts on the real session host; throws when they are not the case's. */
export async function checkEnvelopeCaseOnHost(c: EnvelopeCase, crypto: CryptoBackend): Promise<void> {
  const { seen, verdict } = await hostVerdicts(c, crypto)
  same(seen, seenAccepted(c.seenBefore), `${c.name}: seenBefore verdicts on the host`)
  same(verdict, [expected(c)], `${c.name}: verdict on the host`)
}

/** Cases whose link peer is a real party (the small-order case names a key no handshake admits). */
export const hostCases = envelopeFile.cases.filter(
  (c) => partySeeds.has(c.linkPeer) && partySeeds.has(c.receiver),
)
