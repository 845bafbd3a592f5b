/**
 * What every `Link` implementation shares: its id, the closed flag, the message and close
 * events, and the checks every `send` makes before a frame leaves (closed, oversize).
 * @module
 */
import { ConclaveError, type ErrorCode } from '../errors.ts'
import { Emitter } from '../events.ts'
import type { PartyId } from '../ids.ts'
import type { Link, TransportKind } from './types.ts'

/** Base of the webrtc and relay links. */
export abstract class BaseLink implements Link {
  abstract readonly kind: TransportKind
  abstract readonly bufferedAmount: number
  readonly id: string
  closed = false
  private readonly emitter = new Emitter<{
    message: Uint8Array
    close: { code: ErrorCode; reason: string }
  }>()

  constructor(
    idPrefix: string,
    counter: number,
    readonly peer: PartyId,
    readonly initiator: boolean,
    readonly maxMessageSize: number,
  ) {
    this.id = `${idPrefix}-${counter}`
  }

  abstract fingerprints(): { local: string[]; remote: string[] } | undefined

  /** Hand a checked frame to the underlying path. */
  protected abstract transmit(frame: Uint8Array): void

  /** The owner's side of a close (tear down the path, tell the peer). */
  protected abstract closedByOwner(code: ErrorCode, reason: string): void

  /** Whether the underlying path is gone although `closed` is not set yet. */
  protected get pathGone(): boolean {
    return false
  }

  /**
   * Send one frame.
   * @throws ConclaveError `LINK_CLOSED`, `INVALID_ARGUMENT`, `FRAME_TOO_LARGE` (some paths drop an
   *   oversize message silently: it is refused loudly here instead)
   */
  send(frame: Uint8Array): void {
    if (this.closed || this.pathGone) throw new ConclaveError('LINK_CLOSED', `link ${this.id} is closed`)
    if (!(frame instanceof Uint8Array)) {
      throw new ConclaveError('INVALID_ARGUMENT', `"frame" expected a Uint8Array, got ${typeof frame}`)
    }
    if (frame.length > this.maxMessageSize) {
      throw new ConclaveError(
        'FRAME_TOO_LARGE',
        `frame of ${frame.length} bytes over the link's ${this.maxMessageSize}`,
      )
    }
    this.transmit(frame)
  }

  /** A frame arrived from the peer. */
  deliver(frame: Uint8Array): void {
    if (!this.closed) this.emitter.emit('message', frame)
  }

  onMessage(handler: (frame: Uint8Array) => void): () => void {
    return this.emitter.on('message', handler)
  }

  onClose(handler: (code: ErrorCode, reason: string) => void): () => void {
    return this.emitter.on('close', ({ code, reason }) => handler(code, reason))
  }

  /** Close from the owner's side. */
  close(code: ErrorCode = 'LINK_CLOSED', reason = ''): void {
    if (this.closed) return
    this.markClosed(code, reason)
    this.closedByOwner(code, reason)
  }

  /** The path went away under us (or the owner already tore it down). */
  markClosed(code: ErrorCode, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.emitter.emit('close', { code, reason })
  }
}
