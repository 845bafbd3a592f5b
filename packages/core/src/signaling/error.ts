/**
 * The error of the signaling client: a stable code (the server's, or the client's own) and where
 * it happened. Tests assert `code`, never the message. A {@link ConclaveError} like every other
 * error of Conclave (its codes are in `ERROR_CODES`).
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { SignalingErrorCode } from './protocol.ts'

/** The codes a {@link SignalingError} carries: the server's, plus the client's own. */
export type SignalingClientErrorCode =
  | SignalingErrorCode
  /** The operation's `AbortSignal` fired. */
  | 'ABORTED'
  /** The server did not acknowledge in time. */
  | 'TIMEOUT'
  /** The connection dropped before the server answered. */
  | 'DISCONNECTED'
  /** The client is not started (or was stopped). */
  | 'STOPPED'

/**
 * A refusal or failure of a signaling operation. `code` is stable; tests assert it, never the
 * message. `details` names the event, room and addressee when known.
 */
export class SignalingError extends ConclaveError {
  override readonly name: string = 'SignalingError'
  declare readonly code: SignalingClientErrorCode
  declare readonly details: Readonly<SignalingErrorDetails>

  constructor(code: SignalingClientErrorCode, message: string, details: SignalingErrorDetails = {}) {
    super(code, message, details)
  }
}

/** Where a {@link SignalingError} happened. */
export type SignalingErrorDetails = { event?: string; room?: string; to?: string }
