/**
 * Admission: DESIGN's "on receipt, in order" checks that come after the signature, as one
 * function that returns a verdict. The checks before it (decode, `from` is the link's peer,
 * the signature) are the receive path's (`receive.ts`); what a verdict leads to is the host's.
 *
 * In order: a proposal of a session not opened here is control; a unit of a session over is
 * dropped as late (never held against its sender), of one not opened yet held; `from` is a participant; `recipient` is this party or
 * the broadcast; fresh (at a stream's first unit); not a replay (a resent part of a batch is
 * skipped); round 0 is control (`ack`, `start`, the proposal of a joined session, a broadcast
 * `abort`), anything else there is refused; the session is open (else late); the round is not too far
 * ahead; the sender's inbox has room, in messages and in bytes (else the unit is held until it
 * has); deliver. A held unit
 * is judged fresh by when it arrived, not by when it is taken.
 * @module
 */
import { equalBytes } from '../bytes.ts'
import type { ErrorCode } from '../errors.ts'
import { BROADCAST_RECIPIENT } from '../ids.ts'
import type { Held, UnitKeys } from './held-unit.ts'
import {
  ABORT_KIND,
  ACK_KIND,
  CONTROL_ROUND,
  PROPOSAL_KIND,
  type SessionState,
  START_KIND,
} from './session-state.ts'

/** The control kinds admission recognises (`proposal`: of a session not opened here yet). */
export type ControlKind = 'proposal' | 'joined-proposal' | 'ack' | 'start' | 'abort'

/** What to do with a received envelope. */
export type Verdict =
  /** Refuse it with `code` (counted, and held against the peer as the guard weighs `code`). */
  | { verdict: 'refuse'; code: ErrorCode; reason: string }
  /**
   * Drop it with `code`, counted and told but never held against the peer: a late unit of a
   * session over here, which the peer may have sent before it could know.
   */
  | { verdict: 'late'; code: 'SESSION_CLOSED'; reason: string }
  /**
   * Keep it for later: `session` until its session opens (the unknown-session buffer), `room`
   * until the sender's inbox has room for it, in messages and in bytes (the peer's receive
   * chain waits meanwhile).
   */
  | { verdict: 'hold'; until: 'session' | 'room' }
  /** A control envelope of round 0 (its replay entry is taken, except for a new proposal). */
  | { verdict: 'control'; kind: ControlKind; broadcast: boolean }
  /** A resent envelope of the batch taken at a restart, already accepted then: a duplicate. */
  | { verdict: 'skip' }
  /** Into the session's inbox. */
  | { verdict: 'deliver'; broadcast: boolean }

/** What admission reads besides the unit. */
export interface AdmissionContext {
  /** The session the unit names, when it is open (or over but not closed) here. */
  session: SessionState | undefined
  /** Whether the session ran here and is over (closed by the application, or resumed as ended). */
  ended: boolean
  /** This party's public key. */
  selfBytes: Uint8Array
  /** This party's clock (ms), read only for a stream's first unit. */
  now: () => number
  /** The skew window (ms). */
  skewMs: number
}

const refuse = (code: ErrorCode, reason: string): Verdict => ({ verdict: 'refuse', code, reason })
const late = (reason: string): Verdict => ({ verdict: 'late', code: 'SESSION_CLOSED', reason })

/** The verdict on `held` (already verified), by the checks after the signature, in order. */
export function admit(held: Held, keys: UnitKeys, ctx: AdmissionContext): Verdict {
  const { unit, peer } = held
  const session = ctx.session
  const control = unit.round === CONTROL_ROUND
  if (!session) {
    if (control && unit.kind === PROPOSAL_KIND)
      return { verdict: 'control', kind: 'proposal', broadcast: true }
    if (ctx.ended) return late('message for a session already over')
    return { verdict: 'hold', until: 'session' }
  }
  if (!session.participants.has(peer))
    return refuse('ENVELOPE_NOT_PARTICIPANT', 'sender is not a participant of the session')
  const broadcast = equalBytes(unit.recipient, BROADCAST_RECIPIENT)
  if (!broadcast && !equalBytes(unit.recipient, ctx.selfBytes))
    return refuse('ENVELOPE_WRONG_RECIPIENT', 'envelope addressed to another party')
  // freshness is checked once per stream (sessionId, from, epoch), at its first unit
  if (!session.freshStreams.has(keys.fresh)) {
    const skew = Math.abs(Number(unit.timestamp) - ((held.arrivedAt ?? ctx.now()) + held.clockOffsetMs))
    if (skew > ctx.skewMs)
      return refuse('ENVELOPE_STALE', `timestamp ${skew} ms away from the sender's clock`)
  }
  if (session.replay.seen(keys.stream, unit.seq)) {
    if (held.resent) return { verdict: 'skip' }
    return refuse('ENVELOPE_REPLAY', `sequence ${unit.seq} already delivered`)
  }
  if (control) {
    if (unit.kind === ACK_KIND) return { verdict: 'control', kind: 'ack', broadcast }
    if (unit.kind === START_KIND) return { verdict: 'control', kind: 'start', broadcast }
    if (unit.kind === PROPOSAL_KIND && broadcast)
      return { verdict: 'control', kind: 'joined-proposal', broadcast }
    if (unit.kind !== ABORT_KIND || !broadcast)
      return refuse(
        'ROUND_RESERVED',
        `round 0 is reserved for control, got kind ${JSON.stringify(unit.kind)}`,
      )
    return { verdict: 'control', kind: 'abort', broadcast }
  }
  if (session.status !== 'open') return late(`session is ${session.status}`)
  if (session.tooFarAhead(unit.round))
    return refuse('FUTURE_ROUND', `round ${unit.round} is too far ahead of round ${session.currentRound}`)
  if (!session.inbox.hasRoom(peer, unit.body.length)) return { verdict: 'hold', until: 'room' }
  return { verdict: 'deliver', broadcast }
}
