/**
 * One record per peer (DESIGN "One record per peer"): everything the host keeps of a peer
 * across its links lives in one {@link HostPeer}, created in one place ({@link PeerTable.of})
 * and dropped in one place ({@link PeerTable.clear}, which also stops its timers). A peer's
 * record outlives its links: its delivery streams, epoch and health history are what a new
 * link resumes from.
 * @module
 */
import type { PartyId } from '../ids.ts'
import { type DeliveryLimits, PeerDelivery } from './delivery.ts'
import type { HostLink } from './link-table.ts'

/** What the host keeps of one peer. */
export interface HostPeer {
  readonly id: PartyId
  /** The peer's ready link (handshake done), if any. Set through {@link PeerTable.setLink}. */
  readonly link: HostLink | undefined
  /** Delivery streams to and from the peer (retransmit buffer, numbering, acks). */
  readonly delivery: PeerDelivery
  /** The peer's epoch (hex) as last seen in a handshake, or as the outbox store kept it. */
  epoch: string | undefined
  /** Units from the peer are processed in order on this chain. */
  chain: Promise<void>
  /** Units (and their bytes) received from the peer and not yet processed. */
  readonly unprocessed: { units: number; bytes: number }
  /** For the health score: when a link to it was first made or failed, and how often each. */
  readonly history: { firstSeen: number | undefined; handshakes: number; failures: number }
  /** Pending delayed ack. */
  ackTimer: ReturnType<typeof setTimeout> | undefined
  /** Pending request for a new link (units wait and no link is ready). */
  relinkTimer: ReturnType<typeof setTimeout> | undefined
  /** Link requests since the last ready link (the relink backoff's retry number). */
  relinkTries: number
}

/** The host's peers, one record each. */
export class PeerTable {
  private readonly peers = new Map<PartyId, HostPeer>()
  private ready = 0

  constructor(private readonly limits: DeliveryLimits) {}

  /** The record of `peer`, created on first need. */
  of(peer: PartyId): HostPeer {
    let p = this.peers.get(peer)
    if (!p) {
      p = {
        id: peer,
        link: undefined,
        delivery: new PeerDelivery(peer, this.limits),
        epoch: undefined,
        chain: Promise.resolve(),
        unprocessed: { units: 0, bytes: 0 },
        history: { firstSeen: undefined, handshakes: 0, failures: 0 },
        ackTimer: undefined,
        relinkTimer: undefined,
        relinkTries: 0,
      }
      this.peers.set(peer, p)
    }
    return p
  }

  /** The record of `peer`, if it has one. */
  find(peer: PartyId): HostPeer | undefined {
    return this.peers.get(peer)
  }

  /** Make `link` the peer's ready link (or none); returns the one it replaces. */
  setLink(p: HostPeer, link: HostLink | undefined): HostLink | undefined {
    const previous = p.link
    if (previous === undefined && link !== undefined) this.ready++
    if (previous !== undefined && link === undefined) this.ready--
    ;(p as { link: HostLink | undefined }).link = link
    return previous
  }

  /** Peers with a ready link. */
  get readyCount(): number {
    return this.ready
  }

  /** Every record, in the order they were made. */
  values(): IterableIterator<HostPeer> {
    return this.peers.values()
  }

  /** The ready links. */
  *readyLinks(): Generator<HostLink> {
    for (const p of this.peers.values()) if (p.link) yield p.link
  }

  /** Stop every peer's timers and forget them all (the host's `stop()`). */
  clear(): void {
    for (const p of this.peers.values()) {
      if (p.ackTimer) clearTimeout(p.ackTimer)
      if (p.relinkTimer) clearTimeout(p.relinkTimer)
      p.ackTimer = undefined
      p.relinkTimer = undefined
    }
    this.peers.clear()
    this.ready = 0
  }
}
