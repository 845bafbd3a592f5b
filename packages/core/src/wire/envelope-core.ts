/**
 * What the envelope and batch codecs share (DESIGN "Envelope"): the envelope's constants and
 * fields, and reading an envelope's signed bytes. Internal to `wire/`: the public names are
 * re-exported by `envelope.ts`.
 * @module
 */
import type { Reader } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'

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
  /**
   * 64 bytes: the envelope's own signature or, for an envelope of a batch ({@link DecodedBatch}),
   * the batch's.
   */
  signature: Uint8Array
  /** The whole unit as received (for a batched envelope: its item bytes). */
  bytes: Uint8Array
}

/** Payload bytes besides `kind` and `body`: version, sid, round, kind length, from, epoch, seq, body length. */
export const PAYLOAD_FIXED_BYTES = 1 + 32 + 4 + 2 + 32 + 16 + 8 + 4

/** UTF-8 of recently used kinds (a handful in practice), so a stream of sends encodes it once. */
const kindCache = new Map<string, Uint8Array>()

/** The UTF-8 bytes of `kind` (cached). */
export function kindBytes(kind: string): Uint8Array {
  let b = kindCache.get(kind)
  if (b === undefined) {
    b = new TextEncoder().encode(kind)
    if (kindCache.size >= 64) kindCache.clear()
    kindCache.set(kind, b)
  }
  return b
}

// ignoreBOM: a leading U+FEFF stays part of the kind (see bytes.ts)
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Decode a kind: ASCII directly (the common case), anything else through a fatal UTF-8 decoder. */
export function decodeKind(bytes: Uint8Array): string {
  let ascii = true
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false
      break
    }
  }
  return ascii ? String.fromCharCode(...bytes) : utf8Decoder.decode(bytes)
}

/**
 * Read `payload ‖ recipient ‖ timestamp` starting at `start` (the reader's offset); the caller
 * sets `signature` and `bytes`.
 */
export function readEnvelope(r: Reader, bytes: Uint8Array, start: number, maxBody: number): EnvelopeUnit {
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
    kind = decodeKind(r.bytes(kindLen, 'kind'))
  } catch (e) {
    if (e instanceof ConclaveError) throw e
    throw new ConclaveError('DECODE_BAD_UTF8', '"kind" is not valid UTF-8')
  }
  const from = r.bytes(32, 'from')
  const epoch = r.bytes(16, 'epoch')
  const seq = r.u64('seq')
  const body = readBody(r, maxBody)
  const payload = bytes.subarray(start, r.offset)
  const recipient = r.bytes(32, 'recipient')
  const timestamp = r.u64('timestamp')
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
    signature: EMPTY,
    bytes: EMPTY,
  }
}

/** `bytes32len body`, refused before it is read when it declares more than `maxBody`. */
export function readBody(r: Reader, maxBody: number): Uint8Array {
  const bodyLen = r.u32('body length')
  if (bodyLen > maxBody) {
    throw new ConclaveError(
      'MESSAGE_TOO_LARGE',
      `"body" declares ${bodyLen} bytes, at most ${maxBody} allowed`,
    )
  }
  return r.bytes(bodyLen, 'body')
}

/** An empty byte array (fields a reader fills later). */
export const EMPTY = new Uint8Array(0)
