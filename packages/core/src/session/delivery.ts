/**
 * Acknowledged delivery to and from one peer (DESIGN "Delivery"): every unit gets a delivery
 * sequence number; the sender keeps it until the peer acknowledges it, and sends everything
 * unacknowledged again on the next link (after a `resume` record naming where it starts). The
 * receiver numbers units per link from that `resume`, drops what it already received, and
 * acknowledges cumulatively once units are processed. Exactly once and in order per sender,
 * across link losses and transport switches. State is per peer incarnation (its epoch).
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PartyId } from '../ids.ts'

/** Bounds of the retransmit buffer. */
export interface DeliveryLimits {
  /** Units kept unacknowledged per peer. */
  maxUnacked: number
  /** Bytes kept unacknowledged per peer. */
  maxUnackedBytes: number
}

/** Send and receive state for one peer. */
export class PeerDelivery {
  /** The peer's epoch (hex) this state belongs to; undefined until the first handshake. */
  epoch: string | undefined
  private sendNext = 0n
  private readonly unacked: { seq: bigint; unit: Uint8Array }[] = []
  private unackedBytes = 0
  /** Units received (numbered) so far: the next new one has this number. */
  private received = 0n
  /** Units fully processed: what an ack reports. */
  processed = 0n
  /** Last ack sent. */
  ackedUpTo = 0n
  /** Bytes of units processed since the last ack (`ackAfterBytes`). */
  bytesSinceAck = 0
  /** What the outbox store has been told was processed (an `accept` or `processed` record). */
  journaled = 0n
  /**
   * After a restart from an outbox store: the delivery number of the first unit the store had
   * not seen processed. When that unit is a batch, part of it may have been accepted before
   * the restart, so its envelopes already in the replay memory are duplicates, not replays.
   */
  resumedAt: bigint | undefined

  constructor(
    readonly peer: PartyId,
    private readonly limits: DeliveryLimits,
  ) {}

  /** Units waiting for an acknowledgement. */
  get pendingCount(): number {
    return this.unacked.length
  }

  /** Bytes waiting for an acknowledgement. */
  get pendingBytes(): number {
    return this.unackedBytes
  }

  /**
   * Number a unit and keep it until acknowledged.
   * @throws ConclaveError `DELIVERY_BUFFER_FULL` when the bounds are reached (nothing is dropped)
   */
  enqueue(unit: Uint8Array): bigint {
    if (
      this.unacked.length >= this.limits.maxUnacked ||
      this.unackedBytes + unit.length > this.limits.maxUnackedBytes
    ) {
      throw new ConclaveError(
        'DELIVERY_BUFFER_FULL',
        `${this.unacked.length} units (${this.unackedBytes} bytes) wait for ${this.peer.slice(0, 16)}… to acknowledge`,
        { peer: this.peer, units: this.unacked.length, bytes: this.unackedBytes },
      )
    }
    const seq = this.sendNext++
    this.unacked.push({ seq, unit })
    this.unackedBytes += unit.length
    return seq
  }

  /** Where a new link resumes, and what it must carry again. */
  resume(): { from: bigint; units: Uint8Array[] } {
    return { from: this.unacked[0]?.seq ?? this.sendNext, units: this.unacked.map((u) => u.unit) }
  }

  /** The peer has processed everything below `next`. */
  onAck(next: bigint): void {
    while (this.unacked.length > 0 && this.unacked[0]!.seq < next) {
      this.unackedBytes -= this.unacked.shift()!.unit.length
    }
  }

  /**
   * Classify the unit numbered `seq` on some link: new (process it), or already received.
   * @throws ConclaveError `DELIVERY_GAP` when a unit was skipped (a broken peer)
   */
  receive(seq: bigint): 'new' | 'duplicate' {
    if (seq < this.received) return 'duplicate'
    if (seq > this.received) {
      throw new ConclaveError(
        'DELIVERY_GAP',
        `unit ${seq} from ${this.peer.slice(0, 16)}… before unit ${this.received}`,
      )
    }
    this.received++
    return 'new'
  }

  /**
   * Take up the state an outbox store kept across a restart of this party: the same peer
   * incarnation, its unacknowledged units (sent again on the next link) and what was processed
   * (received from then on: the peer sends the rest again, since no ack covered it).
   */
  restore(s: {
    epoch: string | undefined
    sendNext: bigint
    unacked: Iterable<[bigint, Uint8Array]>
    processed: bigint
  }): void {
    this.epoch = s.epoch
    this.sendNext = s.sendNext
    this.unacked.length = 0
    this.unackedBytes = 0
    for (const [seq, unit] of s.unacked) {
      this.unacked.push({ seq, unit })
      this.unackedBytes += unit.length
    }
    this.received = s.processed
    this.processed = s.processed
    this.ackedUpTo = 0n
    this.journaled = s.processed
    this.resumedAt = s.processed
  }

  /** The peer restarted (a new epoch) or this is its first handshake: start afresh. */
  reset(epoch: string): void {
    this.epoch = epoch
    this.sendNext = 0n
    this.unacked.length = 0
    this.unackedBytes = 0
    this.received = 0n
    this.processed = 0n
    this.ackedUpTo = 0n
    this.bytesSinceAck = 0
    this.journaled = 0n
    this.resumedAt = undefined
  }
}
