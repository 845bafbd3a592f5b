/**
 * The error of the signaling client: a stable code (the server's, or the client's own) and where
 * it happened. Tests assert `code`, never the message.
 * @module
 */
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
export class SignalingError extends Error {
  override readonly name = 'SignalingError'
  readonly code: SignalingClientErrorCode
  readonly details: Readonly<{ event?: string; room?: string; to?: string }>

  constructor(
    code: SignalingClientErrorCode,
    message: string,
    details: { event?: string; room?: string; to?: string } = {},
  ) {
    super(message)
    this.code = code
    this.details = details
  }
}
