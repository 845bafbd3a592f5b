/**
 * A webrtc link: one data channel of simple-peer, with the backpressure of DESIGN "Frames"
 * (frames wait in the link while the channel's buffer is over {@link CHANNEL_HIGH_WATER}), that
 * closes itself with `PATH_LOST` when its connection's path is gone (`path-watch.ts`).
 * @module
 */
import { ConclaveError, type ErrorCode } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import { BaseLink } from './link-base.ts'
import { DISCONNECT_GRACE_MS, PathWatch, type WatchedConnection } from './path-watch.ts'
import type { SimplePeerInstance } from './simple-peer-types.ts'
import type { PathHint } from './types.ts'

/**
 * Bytes a data channel may hold before frames wait in the link (wrtc drops what passes 16 MiB,
 * and the SCTP buffer of browsers is of that order too).
 */
export const CHANNEL_HIGH_WATER = 8 * 1024 * 1024
/** How often held frames are retried (wrtc fires no `bufferedamountlow`). */
const DRAIN_POLL_MS = 5

let linkCounter = 0

/**
 * The link over one simple-peer (its owner closes the connection and counts its attempts). It
 * watches its connection's path from the start and closes itself with `PATH_LOST` once the path
 * is gone; its owner then replaces it, with backoff.
 */
export class WebRtcLink extends BaseLink {
  readonly kind = 'webrtc' as const
  private readonly path: PathWatch

  constructor(
    peer: PartyId,
    initiator: boolean,
    maxMessageSize: number,
    private readonly sp: SimplePeerInstance,
    private readonly fps: { local: string[]; remote: string[] },
    private readonly onClosed: (link: WebRtcLink, code: ErrorCode, reason: string) => void,
    private readonly onReady: (link: WebRtcLink) => void,
    disconnectGraceMs = DISCONNECT_GRACE_MS,
  ) {
    super('rtc', ++linkCounter, peer, initiator, maxMessageSize)
    this.path = new PathWatch(sp._pc as WatchedConnection | null, disconnectGraceMs, (reason) =>
      this.close('PATH_LOST', `path lost: ${reason}`),
    )
    this.path.start()
  }

  /** A platform's hint that paths may be gone: close with `PATH_LOST` if this one is. */
  checkPath(hint: PathHint): void {
    if (!this.closed) this.path.check(hint)
  }

  override markClosed(code: ErrorCode, reason: string): void {
    this.path.stop()
    super.markClosed(code, reason)
  }

  /** The party's handshake on this link completed: its owner counts it as a good link. */
  markReady(): void {
    if (!this.closed) this.onReady(this)
  }

  fingerprints(): { local: string[]; remote: string[] } {
    return this.fps
  }

  /** Frames held back while the data channel's buffer is over {@link CHANNEL_HIGH_WATER}. */
  private held: Uint8Array[] = []
  private heldBytes = 0
  /** The channel's bufferedAmount when last read, and the bytes sent since (reads cost a send). */
  private lastBuffered = 0
  private sentSince = 0
  private poll: ReturnType<typeof setTimeout> | undefined

  /** Bytes waiting: in the data channel, and held back here. */
  get bufferedAmount(): number {
    return (this.sp._channel?.bufferedAmount ?? 0) + this.heldBytes
  }

  protected override get pathGone(): boolean {
    return this.sp.destroyed
  }

  /**
   * The backpressure seam (DESIGN "Frames"): a frame goes to the channel while its buffer stays
   * under {@link CHANNEL_HIGH_WATER}, and waits here, in order, otherwise; a timer drains it
   * (@roamhq/wrtc never fires `bufferedamountlow`, and silently drops what overflows its buffer).
   * The buffer is read only when the bytes sent since the last read could reach the mark.
   */
  protected transmit(frame: Uint8Array): void {
    if (this.held.length === 0) {
      if (this.lastBuffered + this.sentSince + frame.length <= CHANNEL_HIGH_WATER) {
        this.write(frame)
        return
      }
      this.lastBuffered = this.sp._channel?.bufferedAmount ?? 0
      this.sentSince = 0
      if (this.lastBuffered + frame.length <= CHANNEL_HIGH_WATER) {
        this.write(frame)
        return
      }
    }
    // copied: the caller may reuse its buffer once send() returns
    this.held.push(frame.slice())
    this.heldBytes += frame.length
    this.poll ??= setTimeout(() => this.drain(), DRAIN_POLL_MS)
  }

  private write(frame: Uint8Array): void {
    try {
      this.sp.send(frame)
    } catch (e) {
      throw new ConclaveError('LINK_CLOSED', `send failed: ${e instanceof Error ? e.message : String(e)}`)
    }
    this.sentSince += frame.length
  }

  /** Move held frames to the channel as its buffer drains. */
  private drain(): void {
    this.poll = undefined
    if (this.closed || this.sp.destroyed) {
      this.held = []
      this.heldBytes = 0
      return
    }
    let buffered = this.sp._channel?.bufferedAmount ?? 0
    while (this.held.length > 0 && buffered + this.held[0]!.length <= CHANNEL_HIGH_WATER) {
      const frame = this.held.shift()!
      this.heldBytes -= frame.length
      try {
        this.sp.send(frame)
      } catch (e) {
        this.held = []
        this.heldBytes = 0
        this.close('LINK_LOST', `send failed: ${e instanceof Error ? e.message : String(e)}`)
        return
      }
      buffered += frame.length
    }
    this.lastBuffered = buffered
    this.sentSince = 0
    if (this.held.length > 0) this.poll = setTimeout(() => this.drain(), DRAIN_POLL_MS)
  }

  /** Closes the connection once the far end has stopped sending on it. */
  protected closedByOwner(code: ErrorCode, reason: string): void {
    if (this.poll) clearTimeout(this.poll)
    this.poll = undefined
    // held frames belong to this link's keys: the delivery layer sends their units again
    this.held = []
    this.heldBytes = 0
    this.onClosed(this, code, reason)
  }
}
