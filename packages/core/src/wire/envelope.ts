/**
 * The signed envelope of DESIGN ("Envelope").
 *
 * ```
 * payload = u8 version ‖ bytes32 sessionId ‖ u32 round ‖ str16 kind ‖ bytes32 from ‖
 *           bytes16 epoch ‖ u64 seq ‖ bytes32len body
 * signed  = "conclave/msg/v1" 0x00 ‖ u32 len(payload) ‖ payload ‖ bytes32 recipient ‖ u64 timestamp
 * unit    = payload ‖ bytes32 recipient ‖ u64 timestamp ‖ signature(64)
 * ```
 * `recipient` is the addressee's PartyId bytes, or 32 zero bytes for a broadcast to the session.
 * Retransmissions resend the stored unit bytes and never re-sign.
 * @module
 */
import { Reader, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { CONTEXT } from './contexts.ts'

/** The envelope version this code speaks. */
export const ENVELOPE_VERSION = 1
/** Longest `kind` in bytes. */
export const MAX_KIND_BYTES = 64
/** Default cap on a body (16 MiB), as DESIGN's "max message". */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

/** The fields of an envelope payload. */
export interface EnvelopeFields {
  /** 32 bytes. */
  sessionId: Uint8Array
  round: number
  kind: string
  /** Sender's PartyId bytes (32). */
  from: Uint8Array
  /** Sender's stream epoch (16). */
  epoch: Uint8Array
  seq: bigint
  body: Uint8Array
}

/** A decoded unit: its fields plus views into the exact bytes received. */
export interface EnvelopeUnit extends EnvelopeFields {
  version: number
  /** The payload bytes exactly as received. */
  payload: Uint8Array
  /** 32 bytes; all zero for a broadcast. */
  recipient: Uint8Array
  /** Sender's clock, ms since the Unix epoch. */
  timestamp: bigint
  /** 64 bytes. */
  signature: Uint8Array
  /** The whole unit as received. */
  bytes: Uint8Array
}

/**
 * Encode an envelope payload.
 * @throws ConclaveError `INVALID_ARGUMENT` on a field of the wrong size, `MESSAGE_TOO_LARGE` on a body over the cap.
 */
export function encodePayload(fields: EnvelopeFields, maxBody = DEFAULT_MAX_BODY_BYTES): Uint8Array {
  const kind = new TextEncoder().encode(fields.kind)
  if (kind.length === 0 || kind.length > MAX_KIND_BYTES) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"kind" expected 1 to ${MAX_KIND_BYTES} bytes, got ${kind.length}`,
    )
  }
  if (fields.body.length > maxBody) {
    throw new ConclaveError(
      'MESSAGE_TOO_LARGE',
      `"body" expected at most ${maxBody} bytes, got ${fields.body.length}`,
    )
  }
  return new Writer(128 + fields.body.length)
    .u8(ENVELOPE_VERSION)
    .bytes(fields.sessionId, 32)
    .u32(fields.round)
    .u16(kind.length)
    .bytes(kind)
    .bytes(fields.from, 32)
    .bytes(fields.epoch, 16)
    .u64(fields.seq)
    .bytes32len(fields.body)
    .finish()
}

/** The exact bytes Ed25519 signs for an envelope (tag included). */
export function envelopeSignedBytes(
  payload: Uint8Array,
  recipient: Uint8Array,
  timestamp: bigint,
): Uint8Array {
  return new Writer(CONTEXT.envelope.length + 4 + payload.length + 40)
    .bytes(CONTEXT.envelope)
    .bytes32len(payload)
    .bytes(recipient, 32)
    .u64(timestamp)
    .finish()
}

/** The unit on the wire: `payload ‖ recipient ‖ timestamp ‖ signature`. */
export function encodeUnit(
  payload: Uint8Array,
  recipient: Uint8Array,
  timestamp: bigint,
  signature: Uint8Array,
): Uint8Array {
  return new Writer(payload.length + 104)
    .bytes(payload)
    .bytes(recipient, 32)
    .u64(timestamp)
    .bytes(signature, 64)
    .finish()
}

/**
 * Decode a unit. Checks structure only (no signature, no policy).
 * @throws ConclaveError `DECODE_SHORT_INPUT`, `DECODE_TRAILING_BYTES`, `DECODE_UNKNOWN_VERSION`,
 *   `DECODE_BAD_LENGTH`, `DECODE_BAD_UTF8`, `MESSAGE_TOO_LARGE`
 */
export function decodeUnit(bytes: Uint8Array, maxBody = DEFAULT_MAX_BODY_BYTES): EnvelopeUnit {
  const r = new Reader(bytes)
  const version = r.u8('envelope version')
  if (version !== ENVELOPE_VERSION) {
    throw new ConclaveError('DECODE_UNKNOWN_VERSION', `unknown envelope version ${version}`)
  }
  const sessionId = r.bytes(32, 'sessionId')
  const round = r.u32('round')
  const kindLen = r.u16('kind')
  if (kindLen === 0 || kindLen > MAX_KIND_BYTES) {
    throw new ConclaveError(
      'DECODE_BAD_LENGTH',
      `"kind" expected 1 to ${MAX_KIND_BYTES} bytes, got ${kindLen}`,
    )
  }
  let kind: string
  try {
    kind = new TextDecoder('utf-8', { fatal: true }).decode(r.bytes(kindLen, 'kind'))
  } catch (e) {
    if (e instanceof ConclaveError) throw e
    throw new ConclaveError('DECODE_BAD_UTF8', '"kind" is not valid UTF-8')
  }
  const from = r.bytes(32, 'from')
  const epoch = r.bytes(16, 'epoch')
  const seq = r.u64('seq')
  const bodyLen = r.u32('body length')
  if (bodyLen > maxBody) {
    throw new ConclaveError(
      'MESSAGE_TOO_LARGE',
      `"body" declares ${bodyLen} bytes, at most ${maxBody} allowed`,
    )
  }
  const body = r.bytes(bodyLen, 'body')
  const payload = bytes.subarray(0, r.offset)
  const recipient = r.bytes(32, 'recipient')
  const timestamp = r.u64('timestamp')
  const signature = r.bytes(64, 'signature')
  r.end('envelope unit')
  return {
    version,
    sessionId,
    round,
    kind,
    from,
    epoch,
    seq,
    body,
    payload,
    recipient,
    timestamp,
    signature,
    bytes,
  }
}
