/**
 * The host's side of DESIGN "Delivery" over links: queue a signed unit on its recipients'
 * streams (journaled first) and send it where a link is ready; start a ready link with
 * `resume` and everything unacknowledged; acknowledge what was processed, riding in a frame
 * going to the peer anyway, or after `ackDelayMs`, or at once past `ackAfterBytes`. The
 * numbering itself is {@link PeerDelivery}'s (`delivery.ts`).
 * @module
 */
import type { Counters } from '../counters.ts'
import type { PartyId } from '../ids.ts'
import { COMPACT_BATCH_MARKER, expandCompactBatch, isBatchUnit } from '../wire/envelope.ts'
import { RecordType } from '../wire/frame.ts'
import { COMPACT_BATCH_VERSION } from '../wire/handshake.ts'
import type { PeerDelivery } from './delivery.ts'
import { messagesIn } from './held-unit.ts'
import type { Journal, JournalStreamRef } from './journal.ts'
import type { Limits } from './limits.ts'
import type { HostLink } from './link-table.ts'
import type { HostPeer, PeerTable } from './peer-table.ts'

/** What the streams need of the host. */
export interface StreamsDeps {
  limits: Limits
  peers: PeerTable
  journal: Journal
  counter: Counters
  /** Ask the connection side for a link to `peer`. */
  requestLink(peer: PartyId): void
}

/** Queues, sends, resumes and acknowledges units per peer. */
export class Streams {
  constructor(private readonly deps: StreamsDeps) {}

  /**
   * Hand a unit (or a batch) to the delivery streams of its recipients: it is kept until
   * acknowledged, journaled (one record for all recipients, so a crash queues it for all or
   * none), then sent now where a link is ready and on the next link otherwise.
   * @throws ConclaveError `DELIVERY_BUFFER_FULL` (the recipients queued before it keep the unit)
   */
  deliver(
    to: readonly PartyId[],
    unit: Uint8Array,
    refs: readonly JournalStreamRef[],
    touched?: Set<HostLink>,
  ): void {
    const { peers, journal } = this.deps
    const queued: { peer: PartyId; seq: number }[] = []
    let full: unknown
    for (const peer of to) {
      try {
        queued.push({ peer, seq: Number(peers.of(peer).delivery.enqueue(unit)) })
      } catch (e) {
        full = e
        break
      }
    }
    if (queued.length > 0) journal.enqueue(unit, queued, refs)
    for (const { peer } of queued) {
      const link = peers.find(peer)?.link
      if (link && !link.channel.isClosed) {
        this.transmit(link, unit, refs.length)
        touched?.add(link)
      } else this.deps.requestLink(peer)
    }
    if (full !== undefined) throw full
  }

  /** Send a unit on a ready link (an ack due to the peer rides in front of it). */
  transmit(link: HostLink, unit: Uint8Array, messages: number): void {
    const peer = link.result?.peer
    const p = peer === undefined ? undefined : this.deps.peers.find(peer)
    if (p) this.ackOnTheWay(p, link)
    // a peer on protocol version 1 reads only the full form of a batch: the same envelopes and
    // signature, rebuilt (a unit kept from before the link, or a peer that went back a release)
    if (unit[0] === COMPACT_BATCH_MARKER && (link.result?.version ?? 1) < COMPACT_BATCH_VERSION)
      unit = expandCompactBatch(unit, this.deps.limits.maxMessageBytes)
    link.channel.sendUnit(unit)
    this.deps.counter.of(link.info.kind).messagesSent += messages
    if (isBatchUnit(unit)) this.deps.counter.batchesSent++
  }

  /**
   * Start the peer's streams on a newly ready link: a `resume` record naming the first unit
   * that follows, then everything unacknowledged again, and the last ack again.
   * @throws what `transmit` throws for a kept unit (the caller gives the link up)
   */
  resume(p: HostPeer, link: HostLink): void {
    const d = p.delivery
    const { from, units } = d.resume()
    link.channel.sendRecord({ type: RecordType.resume, seq: from })
    for (const unit of units) this.transmit(link, unit, messagesIn(unit))
    // the last ack may have been lost with the old link (or this party restarted): say it again
    d.ackedUpTo = 0n
    if (d.processed > 0n) this.scheduleAck(p)
  }

  /** The peer acknowledged every unit below `next`. */
  onAck(p: HostPeer, next: bigint): void {
    const d = p.delivery
    const before = d.pendingCount
    d.onAck(next)
    if (d.pendingCount < before) this.deps.journal.ack(p.id, next)
  }

  /**
   * A unit numbered `seq` of `size` bytes from the peer is processed (accepted or refused: a
   * refused unit is not worth resending): journal it, and acknowledge it soon.
   */
  processed(p: HostPeer, seq: bigint, size: number): void {
    const d = p.delivery
    if (d.processed < seq + 1n) d.processed = seq + 1n
    d.bytesSinceAck += size
    // a unit that ended without an `accept` carrying its number (refused, control, held) is
    // journaled as processed now: after a restart, the store then names exactly the unit
    // that was in progress (resumedAt), not an earlier one
    this.deps.journal.processed(d)
    const link = d.bytesSinceAck >= this.deps.limits.ackAfterBytes ? p.link : undefined
    if (link) this.ackOnTheWay(p, link)
    else this.scheduleAck(p)
  }

  /**
   * Acknowledge what was processed, at most `ackDelayMs` later (acks are cumulative), unless a
   * frame to that peer carries it first ({@link ackOnTheWay}).
   */
  scheduleAck(p: HostPeer): void {
    if (p.ackTimer !== undefined) return
    p.ackTimer = setTimeout(() => {
      p.ackTimer = undefined
      if (p.link) this.ackOnTheWay(p, p.link)
    }, this.deps.limits.ackDelayMs)
  }

  /**
   * Queue an ack of what was processed from the peer on `link`, if there is one to give: the
   * timer's, or one that rides in the frame of a unit going to that peer anyway (a reply then
   * costs no frame of its own, and no wrtc send() a frame costs).
   */
  ackOnTheWay(p: HostPeer, link: HostLink): void {
    const d: PeerDelivery = p.delivery
    if (link.channel.isClosed || d.processed <= d.ackedUpTo) return
    // an ack never covers what the outbox store has not kept
    this.deps.journal.processed(d)
    d.ackedUpTo = d.processed
    d.bytesSinceAck = 0
    try {
      link.channel.sendRecord({ type: RecordType.ack, seq: d.processed })
    } catch {
      // the link is closing; the next one resumes and acks then
    }
  }
}
