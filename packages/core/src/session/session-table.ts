/**
 * The host's sessions: the open ones (and those that failed and linger a while), the ids of
 * those that ended (a bounded set, `ended-sessions.ts`: never opened again), and the sessions
 * restored from the outbox store that the application has not reopened yet ("dormant": they
 * accept units meanwhile), with their progress. A session that ended keeps only its id and how
 * it ended: closed by the application, it is released at once; failed or aborted, after
 * {@link FAILED_SESSION_LINGER_MS}, without the application closing it.
 * Also the argument checks every session call shares.
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { EndedSessions, type SessionEnding } from './ended-sessions.ts'
import type { Journal } from './journal.ts'
import type { SessionState } from './session-state.ts'
import type { SessionResume } from './types.ts'

/**
 * How long a failed or aborted session keeps its state (and its full error, details included)
 * before it is released; its late units are dropped without blame before and after.
 */
export const FAILED_SESSION_LINGER_MS = 30_000

/** The host's sessions, by id. */
export class SessionTable {
  private readonly open = new Map<SessionId, SessionState>()
  /** The sessions that ended here: released, restored as ended, or closed before a restart. */
  private readonly ended: EndedSessions
  private readonly dormant = new Set<SessionId>()
  private readonly resumed = new Map<SessionId, SessionResume>()
  /** Failed sessions waiting out their linger, by when they are released. */
  private readonly lingering = new Map<SessionId, number>()
  private lingerTimer: ReturnType<typeof setTimeout> | undefined

  /**
   * @param replayWindowMs how long an ended id is kept at least (2 × `skewMs`, see
   *   `ended-sessions.ts`)
   */
  constructor(
    private readonly journal: Journal,
    private readonly stopped: () => boolean,
    private readonly now: () => number,
    replayWindowMs: number,
    /** Told of each session released (the application's `closed` event). */
    private readonly released: (id: SessionId) => void = () => undefined,
  ) {
    this.ended = new EndedSessions(now, replayWindowMs)
  }

  /** The session `id` (open, or failed and lingering), if any. */
  find(id: SessionId): SessionState | undefined {
    return this.open.get(id)
  }

  /**
   * The session `id`.
   * @throws ConclaveError `SESSION_UNKNOWN`; for a session that ended and was released, how it
   *   ended (`SESSION_CLOSED`, or its failure's code); `SESSION_CLOSED` once the host stopped
   */
  get(id: SessionId): SessionState {
    const s = this.open.get(id)
    if (s) return s
    if (this.stopped()) throw new ConclaveError('SESSION_CLOSED', 'the party has stopped')
    const short = `${String(id).slice(0, 16)}…`
    if (this.ended.has(id)) {
      const ending = this.ended.ending(id)
      if (ending) throw new ConclaveError(ending.code, ending.message, { sessionId: id })
      throw new ConclaveError('SESSION_CLOSED', `session ${short} is over`, { sessionId: id })
    }
    throw new ConclaveError('SESSION_UNKNOWN', `no open session ${short}`)
  }

  /** Whether `id` ran here (it is open, or it ended and its id is still kept). */
  hasRun(id: SessionId): boolean {
    return this.open.has(id) || this.ended.has(id)
  }

  /** Keep `s` as open (failed sessions past their linger are released first). */
  add(s: SessionState): void {
    this.sweep()
    this.open.set(s.id, s)
  }

  /** Note that `id` ended before this process (restored from the store). */
  addEnded(id: SessionId): void {
    this.ended.add(id)
  }

  /** Keep `s` as restored from the store, dormant until the application reopens it. */
  addRestored(s: SessionState, resume: SessionResume): void {
    this.add(s)
    this.dormant.add(s.id)
    this.resumed.set(s.id, resume)
  }

  /** Wake a dormant session (the application reopened it); whether it was dormant. */
  wake(id: SessionId): boolean {
    return this.dormant.delete(id)
  }

  /** Progress of a session restored from the store, once the application reopened it. */
  resumeOf(id: SessionId): SessionResume | undefined {
    return this.dormant.has(id) ? undefined : this.resumed.get(id)
  }

  /**
   * Forget `s`: only its id stays, with how it ended when it failed (a code and a message, not
   * the error, whose stack may hold what the session touched).
   */
  release(s: SessionState): void {
    const id = s.id
    if (this.open.get(id) !== s) return
    this.open.delete(id)
    this.dormant.delete(id)
    this.resumed.delete(id)
    this.lingering.delete(id)
    const f = s.failure
    this.ended.add(id, f ? ({ code: f.code, message: f.message } satisfies SessionEnding) : undefined)
    this.released(id)
  }

  /** `s` failed: release it after {@link FAILED_SESSION_LINGER_MS}, unless the application closes it first. */
  linger(s: SessionState): void {
    if (this.lingering.has(s.id)) return
    this.lingering.set(s.id, this.now() + FAILED_SESSION_LINGER_MS)
    this.armLinger()
  }

  private armLinger(): void {
    if (this.lingerTimer !== undefined || this.lingering.size === 0) return
    const first = this.lingering.values().next().value as number
    this.lingerTimer = setTimeout(
      () => {
        this.lingerTimer = undefined
        this.sweep()
        this.armLinger()
      },
      Math.max(0, first - this.now()),
    )
    ;(this.lingerTimer as { unref?: () => void }).unref?.()
  }

  /** Release the failed sessions whose linger is over (insertion order is release order). */
  sweep(): void {
    const now = this.now()
    for (const [id, until] of this.lingering) {
      if (until > now) break
      const s = this.open.get(id)
      if (s) this.release(s)
      else this.lingering.delete(id)
    }
  }

  /** The sessions kept (open, or failed and lingering). */
  values(): IterableIterator<SessionState> {
    return this.open.values()
  }

  /** What the table holds: sessions kept with their state, and ended ids (for tests and metrics). */
  get usage(): { open: number; lingering: number; ended: number; resumed: number } {
    return {
      open: this.open.size,
      lingering: this.lingering.size,
      ended: this.ended.size,
      resumed: this.resumed.size,
    }
  }

  /** Stop the linger timer (the host's `stop()`). */
  clear(): void {
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer)
    this.lingerTimer = undefined
    this.lingering.clear()
  }

  /** Note that this party acts in `round` (journaled: a resumed session keeps its round window). */
  touch(s: SessionState, round: number): void {
    if (round <= s.currentRound) return
    s.touch(round)
    this.journal.round(s.id, round)
  }
}

/**
 * Check an application's round: 1 to 2³²−1.
 * @throws ConclaveError `ROUND_RESERVED`
 */
export function checkRound(round: number): void {
  if (!Number.isInteger(round) || round < 1 || round > 0xffffffff) {
    throw new ConclaveError(
      'ROUND_RESERVED',
      `"round" expected an integer from 1 to 2³²−1 (0 is the control round), got ${round}`,
    )
  }
}

/**
 * Check that `peer` is another participant of `s`.
 * @throws ConclaveError `INVALID_ARGUMENT`
 */
export function checkPeer(s: SessionState, peer: PartyId, what: string): void {
  if (peer === s.self || !s.participants.has(peer)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"${what}" expected another participant of the session, got ${String(peer).slice(0, 16)}…`,
    )
  }
}
