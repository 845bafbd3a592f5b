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
 *
 * A **batch** is one unit carrying several direct envelopes from one sender to one recipient,
 * signed once in the batch context over their digests:
 *
 * ```
 * item   = u32 len(payload) ‖ payload ‖ bytes32 recipient ‖ u64 timestamp   (the envelope's
 *          signed bytes without the tag)
 * digest = SHA-256("conclave/msg/v1" 0x00 ‖ item)          (= SHA-256 of the envelope's signed bytes)
 * signed = "conclave/batch/v1" 0x00 ‖ u32 n ‖ digest_1 ‖ … ‖ digest_n
 * batch  = u8 0x80 ‖ u16 n ‖ item_1 ‖ … ‖ item_n ‖ signature(64)           (2 ≤ n ≤ 1024)
 * ```
 * On the wire a batch travels **compact** (what is written), the same envelopes and the same
 * signature with what its items share written once, and each item's fields by difference from
 * the item before it:
 *
 * ```
 * compact = u8 0x81 ‖ u16 n ‖ u8 version ‖ bytes32 from ‖ bytes32 recipient ‖
 *           citem_1 ‖ … ‖ citem_n ‖ signature(64)
 * citem   = u8 flags ‖ [bytes32 sessionId] ‖ [bytes16 epoch] ‖ [u32 round] ‖ [str16 kind] ‖
 *           [u64 seq] ‖ [u64 timestamp] ‖ bytes32len body
 * flags   = 0x01 sessionId, 0x02 epoch, 0x04 round, 0x08 kind, 0x20 timestamp: as the item
 *           before (the field is then absent); 0x10 seq = the item before's + 1 (absent);
 *           0x40 and 0x80 are 0; item 1 has none set
 * ```
 * A receiver rebuilds the full items (`expandCompactBatch`) and goes on as for `0x80`, which is
 * still read. The first byte tells them apart: an envelope unit starts with its version (1).
 * @module
 */
import { Reader, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { CONTEXT } from './contexts.ts'
import {
  DEFAULT_MAX_BODY_BYTES,
  ENVELOPE_VERSION,
  type EnvelopeFields,
  type EnvelopeUnit,
  kindBytes,
  MAX_KIND_BYTES,
  PAYLOAD_FIXED_BYTES,
  readEnvelope,
} from './envelope-core.ts'

export * from './batch.ts'
export {
  DEFAULT_MAX_BODY_BYTES,
  ENVELOPE_VERSION,
  type EnvelopeFields,
  type EnvelopeUnit,
  MAX_KIND_BYTES,
} from './envelope-core.ts'

/**
 * Encode an envelope payload.
 * @throws ConclaveError `INVALID_ARGUMENT` on a field of the wrong size, `MESSAGE_TOO_LARGE` on a body over the cap.
 */
export function encodePayload(fields: EnvelopeFields, maxBody = DEFAULT_MAX_BODY_BYTES): Uint8Array {
  const kind = kindBytes(fields.kind)
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
  return new Writer(PAYLOAD_FIXED_BYTES + kind.length + fields.body.length)
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
  const unit = readEnvelope(r, bytes, 0, maxBody)
  unit.signature = r.bytes(64, 'signature')
  r.end('envelope unit')
  unit.bytes = bytes
  return unit
}
