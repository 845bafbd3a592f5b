/**
 * Error classes with stable codes. Tests assert `code`, never the message.
 *
 * Every refusal the runtime makes (a bad frame, a bad signature, a stale envelope …) carries one
 * of these codes, both in the thrown error and in the `drop` / `refused` events and counters.
 * @module
 */

/**
 * The codes the signaling server sends in `error` events and acks (`SignalingErrorCode`);
 * they are Conclave error codes too.
 */
export const SIGNALING_ERROR_CODES = [
  'NOT_REGISTERED',
  'BAD_PAYLOAD',
  'BAD_SIGNATURE',
  'VERSION_MISMATCH',
  'NOT_IN_ROOM',
  'PEER_NOT_IN_ROOM',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'TOO_MANY_ROOMS',
  'ROOM_FULL',
  'ALREADY_REGISTERED',
  /** This socket was replaced by a newer connection registering the same PartyId. */
  'REPLACED',
  /** A registered socket sent nothing (not even a heartbeat) for `limits.heartbeatTimeoutMs`. */
  'HEARTBEAT_TIMEOUT',
  /** The socket did not register within the server's registration timeout. */
  'REGISTRATION_TIMEOUT',
  /** Repeated violations (rate, size, bad payloads, failed registrations): the socket is cut. */
  'ABUSE',
  /** Client side: the challenge named another origin than the one connected to; not signed. */
  'ORIGIN_MISMATCH',
] as const

/** Every stable error code Conclave uses. Closed union: add a code here before using it. */
export const ERROR_CODES = [
  // arguments and encoding
  'INVALID_ARGUMENT',
  /** Limits that contradict each other (a sender's share over the total, a message over its inbox). */
  'LIMIT_INCONSISTENT',
  'DECODE_SHORT_INPUT',
  'DECODE_TRAILING_BYTES',
  'DECODE_UNKNOWN_VERSION',
  'DECODE_UNKNOWN_TYPE',
  'DECODE_BAD_LENGTH',
  'DECODE_BAD_UTF8',
  // identity and crypto
  'INVALID_PARTY_ID',
  'INVALID_SESSION_ID',
  'KEY_NOT_EXTRACTABLE',
  'KEY_INVALID',
  'KEY_SMALL_ORDER',
  'CRYPTO_UNAVAILABLE',
  // handshake
  'HANDSHAKE_BAD_SIGNATURE',
  'HANDSHAKE_UNEXPECTED_PEER',
  'HANDSHAKE_SELF',
  'HANDSHAKE_NOT_IN_ROSTER',
  'HANDSHAKE_MODE_MISMATCH',
  'HANDSHAKE_VERSION_MISMATCH',
  'HANDSHAKE_WEAK_KEY',
  'HANDSHAKE_TIMEOUT',
  'HANDSHAKE_UNEXPECTED_MESSAGE',
  'FINGERPRINT_MISMATCH',
  // frames
  'FRAME_BAD_COUNTER',
  'FRAME_DECRYPT_FAILED',
  'FRAME_TOO_LARGE',
  'FRAME_BEFORE_HANDSHAKE',
  'CHUNK_INVALID',
  'MESSAGE_TOO_LARGE',
  'REASSEMBLY_OVER_CAP',
  // envelopes
  'ENVELOPE_WRONG_SENDER',
  'ENVELOPE_NOT_PARTICIPANT',
  'ENVELOPE_BAD_SIGNATURE',
  'ENVELOPE_WRONG_RECIPIENT',
  'ENVELOPE_STALE',
  'ENVELOPE_REPLAY',
  // sessions
  'SESSION_UNKNOWN',
  'SESSION_EXISTS',
  'SESSION_ABORTED',
  'SESSION_CLOSED',
  'ROUND_TIMEOUT',
  'ROUND_RESERVED',
  'FUTURE_ROUND',
  'INBOX_FULL',
  /**
   * A byte budget shared by all peers is full (DESIGN "Byte budgets"): the unit is sent again on a
   * new link, or not kept for the echo step. Never a fault of the sender.
   */
  'MEMORY_BUDGET_FULL',
  'UNKNOWN_SESSION_OVER_CAP',
  'UNKNOWN_SESSION_EXPIRED',
  'PEER_RESTARTED',
  'PROPOSAL_INVALID',
  'PROPOSAL_UNKNOWN',
  'GRANT_REQUIRED',
  'GRANT_INVALID',
  'GRANT_UNTRUSTED',
  'GRANT_EXPIRED',
  'GRANT_REPLAYED',
  'EQUIVOCATION',
  'PEER_UNREACHABLE',
  'DELIVERY_BUFFER_FULL',
  'PEER_BANNED',
  'PEER_LIMIT',
  // RATE_LIMITED: see the signaling codes
  'DELIVERY_GAP',
  'OUTBOX_CORRUPT',
  'OUTBOX_UNAVAILABLE',
  // links
  'LINK_CLOSED',
  'LINK_LOST',
  /**
   * A webrtc link whose path failed under it (its connection `failed`, stayed `disconnected`
   * past a grace, or lost its local address in a network change): it is replaced at once, with
   * backoff, instead of after the keepalive's silence (DESIGN "Connections").
   */
  'PATH_LOST',
  /** No WebRTC on this platform (Node: the optional @roamhq/wrtc is not installed). */
  'WEBRTC_UNAVAILABLE',
  /**
   * The `iceServers` function threw, rejected, or gave a list that is not one of ICE servers:
   * that connection attempt fails (and is retried with backoff like any failed attempt).
   */
  'ICE_SERVERS_UNAVAILABLE',
  /**
   * A link closed on purpose to be re-keyed: it reached its frame or age bound
   * (`rekeyAfterFrames`, `rekeyAfterMs`) and is re-made at once with a fresh handshake. Not a
   * failure: no backoff, no penalty, no drop.
   */
  'REKEY_DUE',
  'ABORTED',
  'NOT_STARTED',
  // signaling: the server's codes, and the client's own (both carried by `SignalingError`)
  ...SIGNALING_ERROR_CODES,
  'TIMEOUT',
  'DISCONNECTED',
  'STOPPED',
] as const

/** A stable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number]

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES)

/** True when `value` is one of {@link ERROR_CODES}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODE_SET.has(value)
}

/**
 * The one error class family of Conclave. `code` is stable; `details` is structured context
 * (which peer, which round …) that survives the Worker boundary as plain data. Subclasses
 * (`SignalingError`) narrow `code` and `details`; `instanceof ConclaveError` holds for all.
 *
 * @example
 * ```ts
 * try { decodeEnvelope(bytes) } catch (e) { if (e instanceof ConclaveError && e.code === 'DECODE_SHORT_INPUT') … }
 * ```
 */
export class ConclaveError extends Error {
  override readonly name: string = 'ConclaveError'
  readonly code: ErrorCode
  readonly details: Readonly<Record<string, unknown>>

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.code = code
    this.details = details
  }
}

/** True when `e` is a {@link ConclaveError}, optionally with the given code. */
export function isConclaveError(e: unknown, code?: ErrorCode): e is ConclaveError {
  return e instanceof ConclaveError && (code === undefined || e.code === code)
}

/** The code of any thrown value: its `code` if it is a ConclaveError, else `undefined`. */
export function errorCode(e: unknown): ErrorCode | undefined {
  return e instanceof ConclaveError ? e.code : undefined
}
