/**
 * Refusals (DESIGN "Connections", Limits): every refused unit or link fault is counted, told as
 * a `drop` event, and weighed by the peer guard (a unit dropped through no provable fault of its
 * sender, such as a late unit of a session over here, is counted and told but never weighed); a peer over its penalty threshold, or over its
 * rates for too long, is cut off: its links closed and its handshakes refused for the cool-down.
 * @module
 */
import type { Counters } from '../counters.ts'
import type { ErrorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { PeerGuard } from './guard.ts'
import type { LinkTable } from './link-table.ts'
import type { PartyEvent } from './types.ts'

/** What refusals need of the host. */
export interface RefusalDeps {
  counter: Counters
  guard: PeerGuard
  links: LinkTable
  penaltyThreshold: number
  emit(event: PartyEvent): void
}

/** Refuse and cut off. */
export class Refusals {
  constructor(private readonly deps: RefusalDeps) {}

  /** Count and tell a refusal; a peer it puts over the penalty threshold is cut off. */
  refuse(code: ErrorCode, peer: PartyId | undefined, sessionId: SessionId | undefined, reason: string): void {
    this.drop(code, peer, sessionId, reason)
    if (peer) this.penalize(peer, code)
  }

  /**
   * Count and tell a unit dropped through no provable fault of `peer` (a late unit of a session
   * over here): never weighed against it.
   */
  drop(code: ErrorCode, peer: PartyId | undefined, sessionId: SessionId | undefined, reason: string): void {
    this.deps.counter.drop(code)
    this.deps.emit({ type: 'drop', code, peer, sessionId, reason })
  }

  /** Weigh a fault of `peer` (no drop event: the caller told it); over the threshold, cut it off. */
  penalize(peer: PartyId, code: ErrorCode): void {
    if (this.deps.guard.penalize(peer, code))
      this.cutOff(peer, `penalty score over ${this.deps.penaltyThreshold}`)
  }

  /** Disconnect `peer` and refuse it for the cool-down; the others are untouched. */
  cutOff(peer: PartyId, reason: string): void {
    const { guard, counter, links } = this.deps
    if (guard.banned(peer)) return
    guard.ban(peer)
    counter.drop('PEER_BANNED')
    this.deps.emit({ type: 'drop', code: 'PEER_BANNED', peer, reason })
    for (const l of links.list()) {
      if (l.info.peer === peer || l.result?.peer === peer) l.channel.close('PEER_BANNED', reason)
    }
  }
}
