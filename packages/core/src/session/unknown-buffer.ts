/**
 * Holds verified units of sessions this party has not opened yet: bounded per sender first (in
 * sessions and in bytes) and overall second (in sessions and in bytes), so one sender filling
 * its share never costs another sender's early units their place; held units expire after a
 * while. The bytes are charged to the unknown-session budget, which pending proposals share.
 * Everything dropped is reported with its reason.
 * @module
 */
import { type ByteBudget, ENTRY_CHARGE } from '../byte-budget.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { SweepTimer } from './sweep-timer.ts'

/** One held unit. */
export interface HeldUnit<T> {
  from: PartyId
  /** Its wire size (the budget is charged that and {@link ENTRY_CHARGE}). */
  bytes: number
  item: T
}

/** Why a unit was not held, or was let go. */
export type UnknownDrop = 'UNKNOWN_SESSION_OVER_CAP' | 'UNKNOWN_SESSION_EXPIRED'

/** Bounds and clock of the buffer. */
export interface UnknownBufferOptions {
  holdMs: number
  /** Sessions held overall. */
  maxSessions: number
  /** Sessions a sender has units held in. */
  maxSessionsPerSender: number
  /** Bytes held per sender and overall (shared with pending proposals). */
  budget: ByteBudget<PartyId>
  now: () => number
  /** Called for every unit dropped at expiry. */
  onExpire: (held: HeldUnit<unknown>, sessionId: SessionId) => void
}

/** The bounded, expiring buffer. */
export class UnknownSessionBuffer<T> {
  private readonly sessions = new Map<SessionId, { expires: number; units: HeldUnit<T>[] }>()
  /** What each sender holds: its bytes, and the sessions it has units in. */
  private readonly senders = new Map<PartyId, { bytes: number; sessions: Set<SessionId> }>()
  private readonly timer: SweepTimer

  constructor(private readonly o: UnknownBufferOptions) {
    this.timer = new SweepTimer(
      () => Math.min(o.holdMs, 1000),
      () => this.sweep(),
      () => this.sessions.size > 0,
    )
  }

  /** Sessions held. */
  get sessionCount(): number {
    return this.sessions.size
  }

  /** Bytes of units (their wire size) held for `from` across sessions. */
  bytesFrom(from: PartyId): number {
    return this.senders.get(from)?.bytes ?? 0
  }

  /** Sessions `from` has units held in. */
  sessionsFrom(from: PartyId): number {
    return this.senders.get(from)?.sessions.size ?? 0
  }

  /**
   * Hold a unit; returns the reason when it cannot be held: its sender's share (sessions or
   * bytes) is full, checked first, or all senders together hold the most sessions or bytes.
   */
  hold(sessionId: SessionId, unit: HeldUnit<T>): UnknownDrop | undefined {
    this.sweep()
    let entry = this.sessions.get(sessionId)
    const mine = this.senders.get(unit.from) ?? { bytes: 0, sessions: new Set<SessionId>() }
    if (!mine.sessions.has(sessionId) && mine.sessions.size >= this.o.maxSessionsPerSender)
      return 'UNKNOWN_SESSION_OVER_CAP'
    const charge = unit.bytes + ENTRY_CHARGE
    const over = this.o.budget.over(unit.from, charge)
    if (over === 'sender') return 'UNKNOWN_SESSION_OVER_CAP'
    if (!entry && this.sessions.size >= this.o.maxSessions) return 'UNKNOWN_SESSION_OVER_CAP'
    if (over === 'total') return 'UNKNOWN_SESSION_OVER_CAP'
    this.o.budget.charge(unit.from, charge)
    if (!entry) {
      entry = { expires: this.o.now() + this.o.holdMs, units: [] }
      this.sessions.set(sessionId, entry)
    }
    entry.units.push(unit)
    mine.bytes += unit.bytes
    mine.sessions.add(sessionId)
    this.senders.set(unit.from, mine)
    this.timer.arm()
    return undefined
  }

  /** Take every unit held for a session (when it opens). */
  release(sessionId: SessionId): HeldUnit<T>[] {
    const entry = this.sessions.get(sessionId)
    if (!entry) return []
    this.sessions.delete(sessionId)
    for (const u of entry.units) this.unaccount(u, sessionId)
    return entry.units
  }

  /** Drop expired sessions now. */
  sweep(): void {
    const now = this.o.now()
    for (const [sid, entry] of this.sessions) {
      if (entry.expires > now) continue
      this.sessions.delete(sid)
      for (const u of entry.units) {
        this.unaccount(u, sid)
        this.o.onExpire(u, sid)
      }
    }
  }

  /** Stop the expiry timer and drop everything. */
  clear(): void {
    this.timer.stop()
    for (const entry of this.sessions.values())
      for (const u of entry.units) this.o.budget.release(u.from, u.bytes + ENTRY_CHARGE)
    this.sessions.clear()
    this.senders.clear()
  }

  private unaccount(u: HeldUnit<T>, sessionId: SessionId): void {
    const mine = this.senders.get(u.from)
    if (!mine) return
    mine.bytes -= u.bytes
    this.o.budget.release(u.from, u.bytes + ENTRY_CHARGE)
    mine.sessions.delete(sessionId)
    if (mine.sessions.size === 0) this.senders.delete(u.from)
  }
}
