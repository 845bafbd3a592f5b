/**
 * The ids of the sessions that ended here, in a bounded set: what a finished session leaves
 * behind (DESIGN "Sessions and inboxes"). While its id is kept, the session is never opened
 * again (`SESSION_EXISTS`), a proposal of it is ignored, its late units are dropped without
 * blame, and a call on it fails with how it ended. The newest {@link ENDED_SESSIONS_KEPT} are
 * kept, and none younger than the replay window, whatever their number.
 *
 * Why an id may be forgotten past the bound: everything that could make this party run a
 * session again is signed with a timestamp and refused outside the skew window. A proposal is
 * checked against it on arrival (`ENVELOPE_STALE`), and so is each stream's first unit of a
 * session; a proposal replayed later than 2 × `skewMs` after its session was opened here is
 * refused as stale (its timestamp was within `skewMs` of its arrival, which came before the
 * opening). So an id kept for that long is kept as long as it matters; past it, the count
 * bound only saves telling late units from early ones (a late unit of a forgotten session is
 * held as of an unknown session, then dropped, without blame either way). A Node party also
 * keeps its own persistent list (`conclave-party`'s `sessions.txt`).
 * @module
 */
import type { ErrorCode } from '../errors.ts'
import type { SessionId } from '../ids.ts'

/** How many ended session ids are kept at least (each younger than the replay window is kept too). */
export const ENDED_SESSIONS_KEPT = 10_000

/** How a session ended, as kept once its state is gone: a code and a sentence, nothing more. */
export interface SessionEnding {
  code: ErrorCode
  message: string
}

/** Bounded: the newest {@link ENDED_SESSIONS_KEPT} ids, and every id younger than `minAgeMs`. */
export class EndedSessions {
  /** Insertion order is age order (each id is added once). */
  private readonly ids = new Map<SessionId, { at: number; ending: SessionEnding | undefined }>()

  /**
   * @param minAgeMs an id is never forgotten before this long (the replay window, 2 × `skewMs`)
   * @param max how many are kept once they are older than that
   */
  constructor(
    private readonly now: () => number,
    private readonly minAgeMs: number,
    private readonly max = ENDED_SESSIONS_KEPT,
  ) {}

  /** Ids kept now. */
  get size(): number {
    return this.ids.size
  }

  /** Whether `id` is kept as ended. */
  has(id: SessionId): boolean {
    return this.ids.has(id)
  }

  /** How `id` ended, if it is kept and did not simply close. */
  ending(id: SessionId): SessionEnding | undefined {
    return this.ids.get(id)?.ending
  }

  /** Keep `id` as ended (`ending`: how, when it failed); the oldest ones past the bound go. */
  add(id: SessionId, ending?: SessionEnding): void {
    const now = this.now()
    if (this.ids.has(id)) this.ids.delete(id)
    this.ids.set(id, {
      at: now,
      ending: ending ? { code: ending.code, message: ending.message.slice(0, 300) } : undefined,
    })
    for (const [oldest, { at }] of this.ids) {
      if (this.ids.size <= this.max || now - at < this.minAgeMs) break
      this.ids.delete(oldest)
    }
  }
}
