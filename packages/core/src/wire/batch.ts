/**
 * The batch codec of DESIGN "Envelope" (Batch): several direct envelopes from one sender to one
 * recipient in one unit, signed once in the batch context over their digests, written compact
 * (`0x81`) and read in both forms (`0x80` full items). See `envelope.ts` for the layouts.
 * @module
 */
import { Reader, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { CONTEXT } from './contexts.ts'
import {
  DEFAULT_MAX_BODY_BYTES,
  decodeKind,
  EMPTY,
  ENVELOPE_VERSION,
  type EnvelopeUnit,
  MAX_KIND_BYTES,
  PAYLOAD_FIXED_BYTES,
  readBody,
  readEnvelope,
} from './envelope-core.ts'

/** First byte of a batch unit with full items (an envelope unit starts with {@link ENVELOPE_VERSION}); read, no longer written. */
export const BATCH_MARKER = 0x80
/** First byte of a compact batch unit, the form written. */
export const COMPACT_BATCH_MARKER = 0x81
/** Whether `unit` is a batch (either form) rather than a single envelope. */
export function isBatchUnit(unit: Uint8Array): boolean {
  return unit[0] === BATCH_MARKER || unit[0] === COMPACT_BATCH_MARKER
}
/** Most envelopes in one batch. */
export const MAX_BATCH_UNITS = 1024
/** A batch's bytes before its items: marker (u8) and count (u16). */
export const BATCH_HEADER_BYTES = 3
/** A batch item's bytes beside its payload: length (u32), recipient (32), timestamp (u64). */
export const BATCH_ITEM_OVERHEAD_BYTES = 44

/**
 * Size of a batch of `n` items whose payloads hold `payloadBytes` in all (signature included)
 * with full items (`0x80`): an upper bound on its compact form, which saves at least 68 bytes
 * an item and adds 65 to the header.
 */
export function batchWireBytes(n: number, payloadBytes: number): number {
  return BATCH_HEADER_BYTES + n * BATCH_ITEM_OVERHEAD_BYTES + payloadBytes + 64
}

/** One envelope of a batch before signing. */
export interface BatchItem {
  payload: Uint8Array
  recipient: Uint8Array
  timestamp: bigint
}

/** A decoded batch: its envelopes (signature still unchecked) and its item bytes. */
export interface DecodedBatch {
  units: EnvelopeUnit[]
  /**
   * `item_i` bytes (views into a full-form batch; buffers of their own for a compact one):
   * digest_i = SHA-256(envelope tag ‖ item_i).
   */
  items: Uint8Array[]
  signature: Uint8Array
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false
  return true
}

/** The bytes `item` of a batch: `u32 len ‖ payload ‖ recipient ‖ timestamp`. */
function writeItem(w: Writer, item: BatchItem): Writer {
  return w.bytes32len(item.payload).bytes(item.recipient, 32).u64(item.timestamp)
}

/**
 * The exact bytes Ed25519 signs for a batch (tag included), from the items' digests.
 * @param digests n × 32 bytes, digest_i = SHA-256 of envelope i's signed bytes
 */
export function batchSignedBytes(digests: Uint8Array): Uint8Array {
  if (digests.length === 0 || digests.length % 32 !== 0) {
    throw new ConclaveError('INVALID_ARGUMENT', `"digests" expected n × 32 bytes, got ${digests.length}`)
  }
  return new Writer(CONTEXT.batch.length + 4 + digests.length)
    .bytes(CONTEXT.batch)
    .u32(digests.length / 32)
    .bytes(digests)
    .finish()
}

/**
 * The batch unit with full items: `u8 0x80 ‖ u16 n ‖ item_1 ‖ … ‖ item_n ‖ signature`. Still
 * read, and the layout a compact batch is rebuilt into; {@link encodeBatch} writes compact.
 * @throws ConclaveError `INVALID_ARGUMENT` for fewer than 2 or more than {@link MAX_BATCH_UNITS} items
 */
export function encodeFullBatch(items: readonly BatchItem[], signature: Uint8Array): Uint8Array {
  checkBatchCount(items.length)
  let payloadBytes = 0
  for (const it of items) payloadBytes += it.payload.length
  const w = new Writer(batchWireBytes(items.length, payloadBytes)).u8(BATCH_MARKER).u16(items.length)
  for (const it of items) writeItem(w, it)
  return w.bytes(signature, 64).finish()
}

function checkBatchCount(n: number): void {
  if (n < 2 || n > MAX_BATCH_UNITS) {
    throw new ConclaveError('INVALID_ARGUMENT', `a batch holds 2 to ${MAX_BATCH_UNITS} envelopes, got ${n}`)
  }
}

/** Compact item flags: the field is as the item before's (seq: that plus one). */
const SAME_SESSION = 0x01
const SAME_EPOCH = 0x02
const SAME_ROUND = 0x04
const SAME_KIND = 0x08
const NEXT_SEQ = 0x10
const SAME_TIME = 0x20
const KNOWN_FLAGS = 0x3f
/** Compact header: marker, count, version, from, recipient. */
const COMPACT_HEADER_BYTES = 3 + 1 + 32 + 32

/** Field offsets of a payload as {@link encodePayload} lays it out. */
interface PayloadView {
  kindEnd: number
  /** Offset of `from`; epoch at +32, seq at +48, body length at +56, body at +60. */
  fromAt: number
}

function payloadView(payload: Uint8Array): PayloadView {
  if (payload.length < PAYLOAD_FIXED_BYTES + 1 || payload[0] !== ENVELOPE_VERSION) {
    throw new ConclaveError('INVALID_ARGUMENT', 'a batch item holds an encoded version-1 payload')
  }
  const kindLen = (payload[37]! << 8) | payload[38]!
  const fromAt = 39 + kindLen
  if (payload.length < fromAt + 60) {
    throw new ConclaveError('INVALID_ARGUMENT', 'a batch item holds an encoded version-1 payload')
  }
  const bodyLen = new DataView(payload.buffer, payload.byteOffset + fromAt + 56, 4).getUint32(0)
  if (payload.length !== PAYLOAD_FIXED_BYTES + kindLen + bodyLen) {
    throw new ConclaveError('INVALID_ARGUMENT', 'a batch item holds an encoded version-1 payload')
  }
  return { kindEnd: fromAt, fromAt }
}

function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aAt + i] !== b[bAt + i]) return false
  return true
}

/**
 * The batch unit on the wire, compact (module doc): the items' shared `version`, `from` and
 * `recipient` once, then each item by difference from the one before.
 * @throws ConclaveError `INVALID_ARGUMENT` for fewer than 2 or more than {@link MAX_BATCH_UNITS}
 *   items, or items that differ in sender or recipient
 */
export function encodeBatch(items: readonly BatchItem[], signature: Uint8Array): Uint8Array {
  checkBatchCount(items.length)
  const first = items[0]!
  const views = items.map((it) => payloadView(it.payload))
  const from = first.payload.subarray(views[0]!.fromAt, views[0]!.fromAt + 32)
  // first pass: each item's flags and the exact size (a batch can be 1 MiB: written once, not
  // written and then copied to size)
  const flagsOf = new Uint8Array(items.length)
  let size = COMPACT_HEADER_BYTES + 64
  let prevSeq = 0n
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    const p = it.payload
    const v = views[i]!
    if (!sameBytes(p, v.fromAt, from, 0, 32) || !sameBytes(it.recipient, 0, first.recipient, 0, 32)) {
      throw new ConclaveError('INVALID_ARGUMENT', 'a batch holds envelopes from one sender to one recipient')
    }
    const seq = new DataView(p.buffer, p.byteOffset, p.length).getBigUint64(v.fromAt + 48)
    let flags = 0
    if (i > 0) {
      const prev = items[i - 1]!
      const q = prev.payload
      const pv = views[i - 1]!
      if (sameBytes(p, 1, q, 1, 32)) flags |= SAME_SESSION
      if (sameBytes(p, v.fromAt + 32, q, pv.fromAt + 32, 16)) flags |= SAME_EPOCH
      if (sameBytes(p, 33, q, 33, 4)) flags |= SAME_ROUND
      if (v.kindEnd === pv.kindEnd && sameBytes(p, 37, q, 37, v.kindEnd - 37)) flags |= SAME_KIND
      if (seq === prevSeq + 1n) flags |= NEXT_SEQ
      if (it.timestamp === prev.timestamp) flags |= SAME_TIME
    }
    flagsOf[i] = flags
    prevSeq = seq
    size += 1 + (p.length - v.fromAt - 56)
    if (!(flags & SAME_SESSION)) size += 32
    if (!(flags & SAME_EPOCH)) size += 16
    if (!(flags & SAME_ROUND)) size += 4
    if (!(flags & SAME_KIND)) size += v.kindEnd - 37
    if (!(flags & NEXT_SEQ)) size += 8
    if (!(flags & SAME_TIME)) size += 8
  }
  const w = new Writer(size).u8(COMPACT_BATCH_MARKER).u16(items.length).u8(ENVELOPE_VERSION)
  w.bytes(from, 32).bytes(first.recipient, 32)
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    const p = it.payload
    const v = views[i]!
    const flags = flagsOf[i]!
    w.u8(flags)
    if (!(flags & SAME_SESSION)) w.bytes(p.subarray(1, 33))
    if (!(flags & SAME_EPOCH)) w.bytes(p.subarray(v.fromAt + 32, v.fromAt + 48))
    if (!(flags & SAME_ROUND)) w.bytes(p.subarray(33, 37))
    if (!(flags & SAME_KIND)) w.bytes(p.subarray(37, v.kindEnd))
    if (!(flags & NEXT_SEQ)) w.bytes(p.subarray(v.fromAt + 48, v.fromAt + 56))
    if (!(flags & SAME_TIME)) w.u64(it.timestamp)
    w.bytes(p.subarray(v.fromAt + 56))
  }
  return w.bytes(signature, 64).finish()
}

const U64_LAST = (1n << 64n) - 1n

/**
 * Decode a compact batch (`0x81`) in one pass: each envelope rebuilt as its full item,
 * `u32 len ‖ payload ‖ recipient ‖ timestamp`, in an exact buffer of its own (so that keeping one
 * keeps nothing else alive), the unit's fields views into it, and one copy of the signature
 * shared by all. Structure only; the items hold at most the compact bytes plus 1024 × 207.
 */
function decodeCompactBatch(bytes: Uint8Array, maxBody: number): DecodedBatch {
  if (bytes.length < COMPACT_HEADER_BYTES + 64) {
    throw new ConclaveError(
      'DECODE_SHORT_INPUT',
      `compact batch of ${bytes.length} bytes is shorter than its header and signature`,
    )
  }
  const r = new Reader(bytes.subarray(0, bytes.length - 64))
  const marker = r.u8('batch marker')
  if (marker !== COMPACT_BATCH_MARKER)
    throw new ConclaveError('DECODE_UNKNOWN_VERSION', `not a compact batch (${marker})`)
  const n = r.u16('batch count')
  if (n < 2 || n > MAX_BATCH_UNITS) {
    throw new ConclaveError('DECODE_BAD_LENGTH', `a batch holds 2 to ${MAX_BATCH_UNITS} envelopes, got ${n}`)
  }
  const version = r.u8('envelope version')
  if (version !== ENVELOPE_VERSION) {
    throw new ConclaveError('DECODE_UNKNOWN_VERSION', `unknown envelope version ${version}`)
  }
  const from = r.bytes(32, 'from')
  const recipient = r.bytes(32, 'recipient')
  const signature = bytes.slice(bytes.length - 64)
  const units: EnvelopeUnit[] = []
  const items: Uint8Array[] = []
  let prev: EnvelopeUnit | undefined
  /** The previous item's `u16 len ‖ kind` bytes. */
  let prevKind: Uint8Array = EMPTY
  for (let i = 0; i < n; i++) {
    const flags = r.u8('item flags')
    if (flags & ~KNOWN_FLAGS) {
      throw new ConclaveError(
        'DECODE_UNKNOWN_TYPE',
        `batch item ${i} has unknown flags 0x${flags.toString(16)}`,
      )
    }
    if (prev === undefined && flags !== 0) {
      throw new ConclaveError('DECODE_UNKNOWN_TYPE', 'the first batch item refers to an item before it')
    }
    const sid = flags & SAME_SESSION ? prev!.sessionId : r.bytes(32, 'sessionId')
    const epoch = flags & SAME_EPOCH ? prev!.epoch : r.bytes(16, 'epoch')
    const round = flags & SAME_ROUND ? prev!.round : r.u32('round')
    let kindBytes = prevKind
    let kind = prev?.kind ?? ''
    if (!(flags & SAME_KIND)) {
      const at = r.offset
      const kindLen = r.u16('kind')
      if (kindLen === 0 || kindLen > MAX_KIND_BYTES) {
        throw new ConclaveError(
          'DECODE_BAD_LENGTH',
          `"kind" expected 1 to ${MAX_KIND_BYTES} bytes, got ${kindLen}`,
        )
      }
      const raw = r.bytes(kindLen, 'kind')
      try {
        kind = decodeKind(raw)
      } catch {
        throw new ConclaveError('DECODE_BAD_UTF8', '"kind" is not valid UTF-8')
      }
      kindBytes = bytes.subarray(at, r.offset)
    }
    let seq: bigint
    if (flags & NEXT_SEQ) {
      if (prev!.seq === U64_LAST)
        throw new ConclaveError('DECODE_BAD_LENGTH', `batch item ${i}: seq past 2⁶⁴ − 1`)
      seq = prev!.seq + 1n
    } else seq = r.u64('seq')
    const timestamp = flags & SAME_TIME ? prev!.timestamp : r.u64('timestamp')
    const body = readBody(r, maxBody)
    const bodyLen = body.length
    // the full item, exactly as encodeFullBatch writes it
    const k = kindBytes.length
    const payloadLen = PAYLOAD_FIXED_BYTES + k - 2 + bodyLen
    const item = new Uint8Array(BATCH_ITEM_OVERHEAD_BYTES + payloadLen)
    const dv = new DataView(item.buffer)
    dv.setUint32(0, payloadLen)
    item[4] = version
    item.set(sid, 5)
    dv.setUint32(37, round)
    item.set(kindBytes, 41)
    const o = 41 + k
    item.set(from, o)
    item.set(epoch, o + 32)
    dv.setBigUint64(o + 48, seq)
    dv.setUint32(o + 56, bodyLen)
    item.set(body, o + 60)
    const end = o + 60 + bodyLen
    item.set(recipient, end)
    dv.setBigUint64(end + 32, timestamp)
    const unit: EnvelopeUnit = {
      version,
      sessionId: item.subarray(5, 37),
      round,
      kind,
      from: item.subarray(o, o + 32),
      epoch: item.subarray(o + 32, o + 48),
      seq,
      body: item.subarray(o + 60, end),
      payload: item.subarray(4, end),
      recipient: item.subarray(end, end + 32),
      timestamp,
      signature,
      bytes: item,
    }
    units.push(unit)
    items.push(item)
    prev = unit
    prevKind = item.subarray(41, o)
  }
  r.end('batch')
  // the one recipient of a compact batch is checked once its structure decodes (the full form
  // refuses a broadcast item as it reads it: a truncated batch may get the other code first)
  if (isZero(recipient)) throw new ConclaveError('ENVELOPE_WRONG_RECIPIENT', 'a batch of broadcasts')
  return { units, items, signature }
}

/**
 * Rebuild a compact batch (`0x81`) as the same batch with full items (`0x80`): the bytes every
 * digest is taken over. Structure only, as {@link decodeBatch}.
 * @throws ConclaveError `DECODE_*`, `MESSAGE_TOO_LARGE`, `ENVELOPE_WRONG_RECIPIENT` (a broadcast)
 */
export function expandCompactBatch(bytes: Uint8Array, maxBody = DEFAULT_MAX_BODY_BYTES): Uint8Array {
  const { items, signature } = decodeCompactBatch(bytes, maxBody)
  let size = BATCH_HEADER_BYTES + 64
  for (const it of items) size += it.length
  const w = new Writer(size).u8(BATCH_MARKER).u16(items.length)
  for (const it of items) w.bytes(it)
  return w.bytes(signature).finish()
}

/**
 * Decode a batch unit. Checks structure only; every envelope must be direct (a broadcast is
 * never batched: consistent broadcast echoes its single signature as evidence).
 * @throws ConclaveError `DECODE_*`, `MESSAGE_TOO_LARGE`, `ENVELOPE_WRONG_RECIPIENT` for a
 *   broadcast in the batch
 */
export function decodeBatch(bytes: Uint8Array, maxBody = DEFAULT_MAX_BODY_BYTES): DecodedBatch {
  if (bytes[0] === COMPACT_BATCH_MARKER) return decodeCompactBatch(bytes, maxBody)
  // the signature is the last 64 bytes; the items fill exactly what is before it
  if (bytes.length < BATCH_HEADER_BYTES + 64) {
    throw new ConclaveError(
      'DECODE_SHORT_INPUT',
      `batch of ${bytes.length} bytes is shorter than its header and signature`,
    )
  }
  const r = new Reader(bytes.subarray(0, bytes.length - 64))
  const marker = r.u8('batch marker')
  if (marker !== BATCH_MARKER) throw new ConclaveError('DECODE_UNKNOWN_VERSION', `not a batch (${marker})`)
  const n = r.u16('batch count')
  if (n < 2 || n > MAX_BATCH_UNITS) {
    throw new ConclaveError('DECODE_BAD_LENGTH', `a batch holds 2 to ${MAX_BATCH_UNITS} envelopes, got ${n}`)
  }
  const units: EnvelopeUnit[] = []
  const items: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const start = r.offset
    const len = r.u32('payload length')
    const e = readEnvelope(r, bytes, start + 4, maxBody)
    if (e.payload.length !== len) {
      throw new ConclaveError(
        'DECODE_BAD_LENGTH',
        `batch item ${i} declares ${len} payload bytes, has ${e.payload.length}`,
      )
    }
    if (isZero(e.recipient)) {
      throw new ConclaveError('ENVELOPE_WRONG_RECIPIENT', `batch item ${i} is a broadcast`)
    }
    const item = bytes.subarray(start, r.offset)
    items.push(item)
    e.bytes = item
    units.push(e)
  }
  r.end('batch')
  const signature = bytes.subarray(bytes.length - 64)
  for (const u of units) u.signature = signature
  return { units, items, signature }
}
