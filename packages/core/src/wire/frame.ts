/**
 * Frames and records of DESIGN ("Frames").
 *
 * ```
 * frame  = u8 type ‖ u64 counter ‖ body
 *   type 1 handshake: body is a cleartext handshake message (hello = counter 0, auth = counter 1)
 *   type 2 data:      body is ChaCha20-Poly1305(key, nonce = 0x00000000 ‖ u64 counter,
 *                     aad = the 9 header bytes, plaintext = records)
 * record = u8 type ‖ u32 length ‖ body       (one or more per data frame)
 *   1 unit   an envelope unit
 *   2 chunk  u32 messageId ‖ u32 total ‖ u32 offset ‖ data   (a piece of a large unit)
 *   3 ack    u64 the next delivery sequence expected (all below it were processed)
 *   4 ping   u64 sender's clock
 *   5 pong   u64 the ping's value
 *   6 close  str16 code ‖ str16 reason
 *   7 resume u64 delivery sequence of the next unit on this link (units that follow, whole or
 *            chunked, are numbered from it; the first record after every handshake)
 * ```
 * @module
 */
import { Reader, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'

/** Frame types. */
export const FrameType = { handshake: 1, data: 2 } as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

/** Bytes of the frame header (type + counter), which is the AEAD's associated data. */
export const FRAME_HEADER_BYTES = 9
/** Bytes of the AEAD tag. */
export const FRAME_TAG_BYTES = 16
/** Record header bytes (type + length). */
export const RECORD_HEADER_BYTES = 5
/** Chunk record header bytes after the record header. */
export const CHUNK_HEADER_BYTES = 12
/** Largest frame ever sent (64 KiB), header and tag included. */
export const MAX_FRAME_BYTES = 64 * 1024
/** Smallest max frame size a link may announce. */
export const MIN_FRAME_BYTES = 256

/** Record types. */
export const RecordType = { unit: 1, chunk: 2, ack: 3, ping: 4, pong: 5, close: 6, resume: 7 } as const
export type RecordType = (typeof RecordType)[keyof typeof RecordType]

/** A record, as a closed union. */
export type Record =
  | { type: typeof RecordType.unit; unit: Uint8Array }
  | { type: typeof RecordType.chunk; messageId: number; total: number; offset: number; data: Uint8Array }
  | { type: typeof RecordType.ack; seq: bigint }
  | { type: typeof RecordType.resume; seq: bigint }
  | { type: typeof RecordType.ping; value: bigint }
  | { type: typeof RecordType.pong; value: bigint }
  | { type: typeof RecordType.close; code: string; reason: string }

/** A decoded frame header and its (still encrypted, for data) body. */
export interface RawFrame {
  type: FrameType
  counter: bigint
  header: Uint8Array
  body: Uint8Array
}

/** Encode a frame header. */
export function encodeFrameHeader(type: FrameType, counter: bigint): Uint8Array {
  return new Writer(FRAME_HEADER_BYTES).u8(type).u64(counter).finish()
}

/** The 12-byte AEAD nonce of a frame counter: four zero bytes and the u64 counter. */
export function frameNonce(counter: bigint): Uint8Array {
  const n = new Uint8Array(12)
  new DataView(n.buffer).setBigUint64(4, counter)
  return n
}

/**
 * Split a frame into header and body.
 * @throws ConclaveError `DECODE_SHORT_INPUT`, `DECODE_UNKNOWN_TYPE`
 */
export function decodeFrame(frame: Uint8Array): RawFrame {
  const r = new Reader(frame)
  const type = r.u8('frame type')
  if (type !== FrameType.handshake && type !== FrameType.data) {
    throw new ConclaveError('DECODE_UNKNOWN_TYPE', `unknown frame type ${type}`)
  }
  const counter = r.u64('frame counter')
  if (type === FrameType.data && r.remaining < FRAME_TAG_BYTES) {
    throw new ConclaveError('DECODE_SHORT_INPUT', `data frame shorter than its ${FRAME_TAG_BYTES}-byte tag`)
  }
  return { type, counter, header: frame.subarray(0, FRAME_HEADER_BYTES), body: r.rest() }
}

/** Encoded size of a record. */
export function recordSize(rec: Record): number {
  switch (rec.type) {
    case RecordType.unit:
      return RECORD_HEADER_BYTES + rec.unit.length
    case RecordType.chunk:
      return RECORD_HEADER_BYTES + CHUNK_HEADER_BYTES + rec.data.length
    case RecordType.ack:
    case RecordType.resume:
    case RecordType.ping:
    case RecordType.pong:
      return RECORD_HEADER_BYTES + 8
    case RecordType.close:
      return RECORD_HEADER_BYTES + 4 + new TextEncoder().encode(rec.code + rec.reason).length
  }
}

/** Append one record to a writer. */
export function writeRecord(w: Writer, rec: Record): void {
  switch (rec.type) {
    case RecordType.unit:
      w.u8(rec.type).bytes32len(rec.unit)
      return
    case RecordType.chunk:
      w.u8(rec.type)
        .u32(CHUNK_HEADER_BYTES + rec.data.length)
        .u32(rec.messageId)
        .u32(rec.total)
        .u32(rec.offset)
        .bytes(rec.data)
      return
    case RecordType.ack:
    case RecordType.resume:
      w.u8(rec.type).u32(8).u64(rec.seq)
      return
    case RecordType.ping:
    case RecordType.pong:
      w.u8(rec.type).u32(8).u64(rec.value)
      return
    case RecordType.close: {
      const body = new Writer(64).str16(rec.code).str16(rec.reason).finish()
      w.u8(rec.type).bytes32len(body)
      return
    }
  }
}

/** Encode records into one plaintext. */
export function encodeRecords(records: readonly Record[]): Uint8Array {
  const w = new Writer(records.reduce((n, r) => n + recordSize(r), 0))
  for (const rec of records) writeRecord(w, rec)
  return w.finish()
}

/**
 * Decode a frame's plaintext into records (views into `plaintext`, no copies).
 * @throws ConclaveError `DECODE_SHORT_INPUT`, `DECODE_TRAILING_BYTES`, `DECODE_UNKNOWN_TYPE`,
 *   `DECODE_BAD_LENGTH`, `CHUNK_INVALID`
 */
export function decodeRecords(plaintext: Uint8Array): Record[] {
  const r = new Reader(plaintext)
  const out: Record[] = []
  if (plaintext.length === 0)
    throw new ConclaveError('DECODE_SHORT_INPUT', 'a data frame holds at least one record')
  while (r.remaining > 0) {
    const type = r.u8('record type')
    const body = new Reader(r.bytes32len('record'))
    switch (type) {
      case RecordType.unit:
        out.push({ type, unit: body.rest() })
        break
      case RecordType.chunk: {
        const messageId = body.u32('chunk messageId')
        const total = body.u32('chunk total')
        const offset = body.u32('chunk offset')
        const data = body.rest()
        if (data.length === 0 || offset + data.length > total) {
          throw new ConclaveError(
            'CHUNK_INVALID',
            `chunk [${offset}, +${data.length}) outside a ${total}-byte message`,
          )
        }
        out.push({ type, messageId, total, offset, data })
        break
      }
      case RecordType.ack:
      case RecordType.resume:
        out.push({ type, seq: body.u64('sequence') })
        body.end('ack record')
        break
      case RecordType.ping:
      case RecordType.pong:
        out.push({ type, value: body.u64('ping') })
        body.end('ping record')
        break
      case RecordType.close: {
        const code = body.str16('close code')
        const reason = body.str16('close reason')
        body.end('close record')
        out.push({ type, code, reason })
        break
      }
      default:
        throw new ConclaveError('DECODE_UNKNOWN_TYPE', `unknown record type ${type}`)
    }
  }
  return out
}
