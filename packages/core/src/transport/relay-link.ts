/**
 * A relay link: frames through the signaling server, named by one generation. Its owner (the
 * relay transport) queues its frames and tells the peer when it closes.
 * @module
 */
import type { ErrorCode } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import { BaseLink } from './link-base.ts'

/** What a {@link RelayLink} asks of its transport. */
export interface RelayLinkOwner {
  sendFrame(link: RelayLink, frame: Uint8Array): void
  closedByOwner(link: RelayLink, code: ErrorCode, reason: string): void
}

let linkCounter = 0

/** One relay link to one peer. */
export class RelayLink extends BaseLink {
  readonly kind = 'relay' as const
  /** Frame bytes queued for the socket. */
  queued = 0

  constructor(
    peer: PartyId,
    initiator: boolean,
    maxMessageSize: number,
    readonly generation: number,
    private readonly owner: RelayLinkOwner,
  ) {
    super('relay', ++linkCounter, peer, initiator, maxMessageSize)
  }

  fingerprints(): undefined {
    return undefined
  }

  get bufferedAmount(): number {
    return this.queued
  }

  protected transmit(frame: Uint8Array): void {
    this.owner.sendFrame(this, frame)
  }

  /** Frames already sent still go out, then the peer is told. */
  protected closedByOwner(code: ErrorCode, reason: string): void {
    this.owner.closedByOwner(this, code, reason)
  }
}
