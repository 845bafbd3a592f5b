/**
 * Protocol-level errors with stable codes. The runtime's own refusals are `ConclaveError`s with the
 * closed set of codes of `@conclave/core`; what a protocol finds wrong with the *content* of
 * validly signed messages (a share that fails verification, a proof that does not check) is a
 * {@link ProtocolError}, with codes of its own. Tests assert `code`, never the message.
 * @module
 */
import type { PartyId } from '@conclave/core'

/** Every stable code a reference protocol uses. Closed union: add a code here before using it. */
export const PROTOCOL_ERROR_CODES = [
  /** A round message that does not decode (its sender is `details.culprit`). */
  'FROST_BAD_MESSAGE',
  /** A DKG commitment or proof of knowledge, or a signing nonce commitment, that is invalid. */
  'FROST_BAD_COMMITMENT',
  /** A DKG secret share or a signature share that fails verification. */
  'FROST_BAD_SHARE',
  /** A participant announced other parameters (threshold, group key, message) than this party's. */
  'FROST_PARAMS_MISMATCH',
  /** The echo check found that two participants saw different broadcasts. */
  'FROST_BROADCAST_MISMATCH',
  /** Fewer signers than the key's threshold. */
  'FROST_NOT_ENOUGH_SIGNERS',
  /** A session participant that holds no share of the key. */
  'FROST_NOT_A_SIGNER',
  /** The aggregated signature does not verify under the group key. */
  'FROST_SIGNATURE_INVALID',
  /** A key share that is malformed or inconsistent. */
  'FROST_KEY_SHARE_INVALID',
  /** A key share of an unknown version or ciphersuite. */
  'FROST_KEY_SHARE_VERSION',
  /** A FROST proposal whose params do not decode, or do not fit its participants. */
  'FROST_PARAMS_INVALID',
] as const

/** A stable protocol error code. */
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number]

/** Structured context of a {@link ProtocolError}: plain data, safe to log (never a secret). */
export interface ProtocolErrorDetails {
  /**
   * The participant whose validly signed message failed the protocol's checks. Set only when the
   * signed messages prove it (DESIGN "Blame"); a disagreement that cannot be pinned on one party
   * names the parties involved in other fields instead.
   */
  culprit?: PartyId
  /** The protocol round (session round number) the fault was found in. */
  round?: number
  [key: string]: unknown
}

/**
 * An error of a reference protocol, with a stable `code` and structured `details`.
 * Messages and details carry public data only: never a secret share or a nonce.
 *
 * @example
 * ```ts
 * try { await runFrostSign(session, key, msg) } catch (e) {
 *   if (isProtocolError(e, 'FROST_BAD_SHARE')) console.log('blame', e.details.culprit)
 * }
 * ```
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  readonly code: ProtocolErrorCode
  readonly details: Readonly<ProtocolErrorDetails>

  constructor(
    code: ProtocolErrorCode,
    message: string,
    details: ProtocolErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.code = code
    this.details = details
  }
}

/** True when `e` is a {@link ProtocolError}, optionally with the given code. */
export function isProtocolError(e: unknown, code?: ProtocolErrorCode): e is ProtocolError {
  return e instanceof ProtocolError && (code === undefined || e.code === code)
}
