/**
 * The host's sessions: the open ones (and those over but not closed), the ids that ran here
 * (never opened again), and the sessions restored from the outbox store that the application
 * has not reopened yet ("dormant": they accept units meanwhile), with their progress.
 * Also the argument checks every session call shares.
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { Journal } from './journal.ts'
import type { SessionState } from './session-state.ts'
import type { SessionResume } from './types.ts'

/** The host's sessions, by id. */
export class SessionTable {
  private readonly open = new Map<SessionId, SessionState>()
  /** Every session that ran here (opened, restored, or ended before a restart). */
  private readonly ran = new Set<SessionId>()
  private readonly dormant = new Set<SessionId>()
  private readonly resumed = new Map<SessionId, SessionResume>()

  constructor(
    private readonly journal: Journal,
    private readonly stopped: () => boolean,
  ) {}

  /** The session `id` (open, or over and not closed yet), if any. */
  find(id: SessionId): SessionState | undefined {
    return this.open.get(id)
  }

  /**
   * The session `id`.
   * @throws ConclaveError `SESSION_UNKNOWN`, or `SESSION_CLOSED` once the host stopped
   */
  get(id: SessionId): SessionState {
    const s = this.open.get(id)
    if (!s && this.stopped()) throw new ConclaveError('SESSION_CLOSED', 'the party has stopped')
    if (!s) throw new ConclaveError('SESSION_UNKNOWN', `no open session ${String(id).slice(0, 16)}…`)
    return s
  }

  /** Whether `id` ran here (it is open, or over). */
  hasRun(id: SessionId): boolean {
    return this.ran.has(id)
  }

  /** Whether `id` ran here and is no longer kept (closed, or ended before a restart). */
  isOver(id: SessionId): boolean {
    return this.ran.has(id) && !this.open.has(id)
  }

  /** Keep `s` as open (and as having run). */
  add(s: SessionState): void {
    this.open.set(s.id, s)
    this.ran.add(s.id)
  }

  /** Note that `id` ended before this process (restored from the store). */
  addEnded(id: SessionId): void {
    this.ran.add(id)
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

  /** Forget `id` (closed by the application); it stays as having run. */
  delete(id: SessionId): void {
    this.open.delete(id)
    this.dormant.delete(id)
  }

  /** The sessions kept (open, or over and not closed). */
  values(): IterableIterator<SessionState> {
    return this.open.values()
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
