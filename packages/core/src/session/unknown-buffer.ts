/**
 * Holds verified units of sessions this party has not opened yet: bounded in sessions and in
 * bytes per sender, expiring after a while. Everything dropped is reported with its reason.
 * @module
 */
import type { PartyId, SessionId } from '../ids.ts'

/** One held unit. */
export interface HeldUnit<T> {
  from: PartyId
  bytes: number
  item: T
}

/** Why a unit was not held, or was let go. */
export type UnknownDrop = 'UNKNOWN_SESSION_OVER_CAP' | 'UNKNOWN_SESSION_EXPIRED'

export interface UnknownBufferOptions {
  holdMs: number
  maxSessions: number
  maxBytesPerSender: number
  now: () => number
  /** Called for every unit dropped at expiry. */
  onExpire: (held: HeldUnit<unknown>, sessionId: SessionId) => void
}

/** The bounded, expiring buffer. */
export class UnknownSessionBuffer<T> {
  private readonly sessions = new Map<SessionId, { expires: number; units: HeldUnit<T>[] }>()
  private readonly bytesPerSender = new Map<PartyId, number>()
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly o: UnknownBufferOptions) {}

  /** Sessions held. */
  get sessionCount(): number {
    return this.sessions.size
  }

  /** Bytes held for `from` across sessions. */
  bytesFrom(from: PartyId): number {
    return this.bytesPerSender.get(from) ?? 0
  }

  /** Hold a unit; returns the reason when it cannot be held. */
  hold(sessionId: SessionId, unit: HeldUnit<T>): UnknownDrop | undefined {
    this.sweep()
    let entry = this.sessions.get(sessionId)
    if (!entry && this.sessions.size >= this.o.maxSessions) return 'UNKNOWN_SESSION_OVER_CAP'
    const used = this.bytesFrom(unit.from)
    if (used + unit.bytes > this.o.maxBytesPerSender) return 'UNKNOWN_SESSION_OVER_CAP'
    if (!entry) {
      entry = { expires: this.o.now() + this.o.holdMs, units: [] }
      this.sessions.set(sessionId, entry)
    }
    entry.units.push(unit)
    this.bytesPerSender.set(unit.from, used + unit.bytes)
    this.arm()
    return undefined
  }

  /** Take every unit held for a session (when it opens). */
  release(sessionId: SessionId): HeldUnit<T>[] {
    const entry = this.sessions.get(sessionId)
    if (!entry) return []
    this.sessions.delete(sessionId)
    for (const u of entry.units) this.unaccount(u)
    return entry.units
  }

  /** Drop expired sessions now. */
  sweep(): void {
    const now = this.o.now()
    for (const [sid, entry] of this.sessions) {
      if (entry.expires > now) continue
      this.sessions.delete(sid)
      for (const u of entry.units) {
        this.unaccount(u)
        this.o.onExpire(u, sid)
      }
    }
  }

  /** Stop the expiry timer and drop everything. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.sessions.clear()
    this.bytesPerSender.clear()
  }

  private unaccount(u: HeldUnit<T>): void {
    const left = this.bytesFrom(u.from) - u.bytes
    if (left <= 0) this.bytesPerSender.delete(u.from)
    else this.bytesPerSender.set(u.from, left)
  }

  private arm(): void {
    if (this.timer) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.sweep()
        if (this.sessions.size > 0) this.arm()
      },
      Math.min(this.o.holdMs, 1000),
    )
    // never keep a process alive just to expire held messages
    ;(this.timer as { unref?: () => void }).unref?.()
  }
}
