/**
 * Taking up what the outbox store kept (DESIGN "Delivery"): the epoch (journaled on first use),
 * each peer's delivery streams, the ids of sessions that ended, and the open sessions with
 * their sequence numbers, replay memory and unconsumed inbox. Restored sessions accept units at
 * once and wait, dormant, for the application to reopen them (`openSession` with their id).
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import { COMPACT_BATCH_MARKER, expandCompactBatch } from '../wire/envelope.ts'
import type { InboxBudgets } from './inbox.ts'
import type { Journal } from './journal.ts'
import type { Limits } from './limits.ts'
import type { OutboxState } from './outbox.ts'
import type { PeerTable } from './peer-table.ts'
import { SessionState } from './session-state.ts'
import type { SessionTable } from './session-table.ts'

/**
 * Check that every unit the store keeps still fits a channel under today's limits: resending
 * a unit the channel refuses would stall that peer's stream for good. A compact batch is
 * measured in its full form, which a version-1 peer gets (and which must rebuild under today's
 * body limit).
 * @throws ConclaveError `INVALID_ARGUMENT` naming the first unit over them
 */
export function checkKeptUnits(state: OutboxState, limits: Limits): void {
  const maxUnit = limits.maxMessageBytes + 1024
  for (const [peer, p] of state.peers) {
    for (const [seq, unit] of p.unacked) {
      let size = unit.length
      if (unit[0] === COMPACT_BATCH_MARKER) {
        try {
          size = expandCompactBatch(unit, limits.maxMessageBytes).length
        } catch {
          size = Number.POSITIVE_INFINITY
        }
      }
      if (size > maxUnit) {
        throw new ConclaveError(
          'INVALID_ARGUMENT',
          `the outbox store keeps unit ${seq} for ${peer.slice(0, 16)}… of ${size} bytes (full form), over maxMessageBytes + 1 KiB (${maxUnit}): start with the maxMessageBytes it was written under`,
          { peer, seq, bytes: size, max: maxUnit },
        )
      }
    }
  }
}

/** Where a restore puts what it takes up. */
export interface RestoreTarget {
  self: PartyId
  epoch: Uint8Array
  limits: Limits
  now: number
  journal: Journal
  peers: PeerTable
  sessions: SessionTable
  /** The host's inbox byte budgets, which restored inboxes charge. */
  budgets: InboxBudgets
}

/** Take up `state` (what the store kept) into the host's tables. */
export function restore(state: OutboxState, t: RestoreTarget): void {
  checkKeptUnits(state, t.limits)
  if (!state.epoch) t.journal.epoch(t.epoch)
  for (const [peer, p] of state.peers) {
    const record = t.peers.of(peer)
    record.delivery.restore({
      epoch: p.epoch,
      sendNext: BigInt(p.sendNext),
      unacked: [...p.unacked].map(([seq, unit]) => [BigInt(seq), unit] as [bigint, Uint8Array]),
      processed: BigInt(p.processed),
    })
    if (p.epoch !== undefined) record.epoch = p.epoch
  }
  for (const sid of state.ended) t.sessions.addEnded(sid)
  for (const [, saved] of state.sessions) {
    const s = new SessionState(saved.options, t.self, t.limits, t.now, t.budgets)
    for (const [stream, next] of saved.seqs) s.restoreSeq(stream, BigInt(next))
    for (const [stream, r] of saved.replay)
      s.replay.restore(stream, BigInt(r.floor), [...r.above].map(BigInt))
    for (const f of saved.fresh) s.freshStreams.add(f)
    s.touch(saved.round)
    for (const m of saved.inbox) s.inbox.restore(m.key, m.body)
    t.sessions.addRestored(s, {
      sent: Object.fromEntries(saved.sent),
      received: Object.fromEntries(saved.taken),
    })
  }
}
