/**
 * Intake: what the host does with admission's verdict on a verified envelope (`admission.ts`
 * decides, this acts): refuse it, hold it (the unknown-session buffer, or the peer's chain
 * until the sender's inbox has room, in messages and in bytes), hand control envelopes to
 * proposals and session control, or put it into its session's inbox, journaled first, keeping
 * a broadcast's signed unit for the echo step while the kept-broadcast budget has room.
 * @module
 */
import type { Counters } from '../counters.ts'
import type { ErrorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { admit } from './admission.ts'
import type { SessionControl } from './control.ts'
import { detached, type Held, pinsMore, unitKeys } from './held-unit.ts'
import type { Journal } from './journal.ts'
import type { PeerTable } from './peer-table.ts'
import type { ProposalBook } from './proposals.ts'
import type { SessionState } from './session-state.ts'
import type { SessionTable } from './session-table.ts'
import type { PartyEvent } from './types.ts'
import type { UnknownSessionBuffer } from './unknown-buffer.ts'

/** What intake needs of the host. */
export interface IntakeDeps {
  selfBytes: Uint8Array
  now: () => number
  skewMs: number
  counter: Counters
  journal: Journal
  peers: PeerTable
  sessions: SessionTable
  unknown: UnknownSessionBuffer<Held>
  proposals: ProposalBook
  control: SessionControl
  emit(event: PartyEvent): void
  refuse(code: ErrorCode, peer: PartyId | undefined, sessionId: SessionId | undefined, reason: string): void
  /** Count and tell a unit dropped through no provable fault of `peer`. */
  drop(code: ErrorCode, peer: PartyId | undefined, sessionId: SessionId | undefined, reason: string): void
}

/** Acts on admission's verdicts. */
export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  /**
   * Admit `held` and act on the verdict. When the sender's inbox in the session is full (its
   * messages there, or its share or the total of the inbox byte budget), returns a promise that
   * settles once the unit is in: the peer's receive chain waits on it, so nothing behind it is
   * processed or acknowledged meanwhile, and the sender's retransmit buffer fills up until its
   * `send` is refused with DELIVERY_BUFFER_FULL (that is how the sender is told). Nothing is
   * dropped.
   */
  accept(held: Held): undefined | Promise<void> {
    const d = this.deps
    const { unit, peer } = held
    const keys = held.keys ?? unitKeys(unit)
    const sid = keys.sid
    const session = d.sessions.find(sid)
    const v = admit(held, keys, {
      session,
      ended: d.sessions.hasRun(sid),
      selfBytes: d.selfBytes,
      now: d.now,
      skewMs: d.skewMs,
    })
    switch (v.verdict) {
      case 'refuse':
        d.refuse(v.code, peer, sid, v.reason)
        return
      case 'late':
        d.drop(v.code, peer, sid, v.reason)
        return
      case 'skip':
        d.counter.duplicates++
        return
      case 'hold': {
        // a held unit's freshness is judged when it arrived, not when it is taken
        const stamped: Held = { ...held, arrivedAt: held.arrivedAt ?? d.now() }
        if (v.until === 'room') {
          d.counter.inboxWaits++
          d.emit({ type: 'backpressure', peer, sessionId: sid, held: session!.inbox.held(peer) })
          return session!.inbox.waitForRoom(peer, unit.body.length).then(() => this.accept(stamped))
        }
        // an envelope of a full-form batch is a view into the whole batch, a single one into its
        // frame (a compact batch's are rebuilt in buffers of their own): hold a copy of its bytes
        const item = pinsMore(unit.bytes) ? { ...stamped, unit: detached(unit) } : stamped
        const why = d.unknown.hold(sid, { from: peer, bytes: unit.bytes.length, item })
        // an honest peer's early units for a session not opened here yet: never weighed
        if (why) d.drop(why, peer, sid, 'unknown-session buffer is full for this sender')
        return
      }
      case 'control':
        if (v.kind === 'proposal') return d.proposals.receive(held, sid)
        session!.replay.add(keys.stream, unit.seq)
        if (v.kind === 'ack' || v.kind === 'start')
          d.control.onControl(session!, peer, unit.kind, v.broadcast)
        else if (v.kind === 'abort') d.control.onRemoteAbort(session!, peer, unit.body)
        return
      case 'deliver':
        this.deliver(session!, held, keys.stream, keys.fresh, v.broadcast)
    }
  }

  /** Put an admitted envelope into its session's inbox (journaled first). */
  private deliver(
    session: SessionState,
    held: Held,
    stream: string,
    fresh: string,
    broadcast: boolean,
  ): void {
    const d = this.deps
    const { unit, peer } = held
    const key = { from: peer, round: unit.round, kind: unit.kind, broadcast }
    // a batched body is a view into its whole batch (up to maxMessageBytes), a single one into
    // its frame (up to 64 KiB): keep a copy of its own bytes when that is much less
    const body = pinsMore(unit.body) ? unit.body.slice() : unit.body
    d.journal.accept(session.id, key, body, { stream, seq: unit.seq, fresh }, held.deliverySeq)
    if (held.deliverySeq !== undefined) {
      const delivery = d.peers.of(peer).delivery
      if (delivery.journaled < held.deliverySeq + 1n) delivery.journaled = held.deliverySeq + 1n
    }
    session.inbox.put(key, body)
    if (broadcast) this.keep(session, peer, unit.round, unit.kind, unit.bytes)
    session.replay.add(stream, unit.seq)
    session.freshStreams.add(fresh)
    d.emit({
      type: 'message',
      sessionId: session.id,
      from: peer,
      round: unit.round,
      kind: unit.kind,
      broadcast,
      bytes: unit.body.length,
    })
  }

  /**
   * Keep the first signed broadcast of `peer` in a round and kind for the echo step, within the
   * kept-broadcast budget; over it, the unit is delivered but not kept (a drop without blame:
   * no provable fault), and a consistent collect of that round aborts the session.
   */
  private keep(session: SessionState, peer: PartyId, round: number, kind: string, bytes: Uint8Array): void {
    const slot = `${peer}|${round}|${kind}`
    if (session.inbox.kept(slot)) return
    // an envelope of a batch is a view into the whole batch: keep its own bytes
    const unit = pinsMore(bytes) ? bytes.slice() : bytes
    const over = session.inbox.keep(slot, peer, unit)
    if (over === 'sender' || over === 'total') {
      this.deps.drop(
        'MEMORY_BUDGET_FULL',
        peer,
        session.id,
        `broadcast of round ${round} not kept for the echo step: the kept-broadcast budget of ${over === 'sender' ? 'this sender' : 'all senders'} is full`,
      )
    }
  }
}
