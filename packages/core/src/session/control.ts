/**
 * Session control and abort (DESIGN "Sessions and inboxes", Session control): `ack` to the
 * proposer and its `start` once every participant acked, `started()`, and aborts: a local one
 * is final and told to the others in a signed `abort` broadcast; a remote one, a restarted
 * peer or a timeout fails the session with its code.
 * @module
 */
import { Reader, Writer } from '../bytes.ts'
import type { Counters } from '../counters.ts'
import { ConclaveError, type ErrorCode, errorCode, isErrorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { Journal } from './journal.ts'
import type { Limits } from './limits.ts'
import { ABORT_KIND, ACK_KIND, CONTROL_ROUND, type SessionState, START_KIND } from './session-state.ts'
import type { PartyEvent } from './types.ts'

/** Sign and queue an envelope of `s` in `round` (to one participant, or broadcast to the others). */
export type PostEnvelope = (
  s: SessionState,
  round: number,
  kind: string,
  body: Uint8Array,
  to: PartyId | 'broadcast',
) => Promise<void>

/** What session control needs of the host. */
export interface ControlDeps {
  self: PartyId
  limits: Limits
  now: () => number
  counter: Counters
  journal: Journal
  emit(event: PartyEvent): void
  refuse(code: ErrorCode, peer: PartyId | undefined, sessionId: SessionId | undefined, reason: string): void
  post: PostEnvelope
  /** `s` failed: it is released after a linger (the session table's). */
  failed(s: SessionState): void
}

const EMPTY = new Uint8Array(0)

/** Start and abort of sessions. */
export class SessionControl {
  constructor(private readonly deps: ControlDeps) {}

  /** Joining a proposed session: tell the proposer (it sends `start` when everyone has). */
  sendAck(s: SessionState, proposer: PartyId): void {
    void this.deps.post(s, CONTROL_ROUND, ACK_KIND, EMPTY, proposer).catch(() => undefined)
  }

  /** `ack` (to the proposer) and `start` (from the proposer) of the control round. */
  onControl(s: SessionState, peer: PartyId, kind: string, broadcast: boolean): void {
    if (kind === ACK_KIND && !broadcast && s.proposer === this.deps.self) {
      s.acks.add(peer)
      if (s.startedAt === undefined && s.others.every((p) => s.acks.has(p))) {
        this.markStarted(s)
        void this.deps.post(s, CONTROL_ROUND, START_KIND, EMPTY, 'broadcast').catch(() => undefined)
      }
      return
    }
    if (kind === START_KIND && broadcast && peer === s.proposer) {
      this.markStarted(s)
      return
    }
    this.deps.refuse('ROUND_RESERVED', peer, s.id, `unexpected control message ${kind}`)
  }

  private markStarted(s: SessionState): void {
    if (s.startedAt !== undefined) return
    s.startedAt = this.deps.now()
    for (const w of s.startWaiters.splice(0)) w.resolve()
  }

  /** Settles once `s` started; aborts it with `ROUND_TIMEOUT` naming who was silent otherwise. */
  async started(s: SessionState, options: { timeoutMs?: number } = {}): Promise<void> {
    s.assertOpen()
    if (s.proposer === undefined || s.startedAt !== undefined) return
    const ms = options.timeoutMs ?? this.deps.limits.roundTimeoutMs
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const silent = s.proposer === this.deps.self ? s.others.filter((p) => !s.acks.has(p)) : [s.proposer!]
        const err = new ConclaveError(
          'ROUND_TIMEOUT',
          `session did not start: no word from ${silent.length}`,
          {
            round: CONTROL_ROUND,
            silent,
          },
        )
        void this.abortWith(s, err, silent)
        reject(err)
      }, ms)
      s.startWaiters.push({
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
    })
  }

  /** Abort locally and tell the others with a signed, final abort envelope. */
  async abortWith(s: SessionState, err: ConclaveError, silent: PartyId[]): Promise<void> {
    if (s.status !== 'open') return
    const code = err.code
    this.fail(s, err, undefined, silent)
    const body = new Writer(64).str16(code).str16(err.message.slice(0, 500)).finish()
    try {
      await this.deps.post(s, CONTROL_ROUND, ABORT_KIND, body, 'broadcast')
    } catch (e) {
      this.deps.refuse(errorCode(e) ?? 'PEER_UNREACHABLE', undefined, s.id, `abort not sent: ${String(e)}`)
    }
  }

  /** A participant's abort envelope (`str16 code ‖ str16 reason`). */
  onRemoteAbort(s: SessionState, by: PartyId, body: Uint8Array): void {
    let code: ErrorCode = 'SESSION_ABORTED'
    let reason = ''
    try {
      const r = new Reader(body)
      const c = r.str16('abort code')
      reason = r.str16('abort reason')
      r.end('abort')
      if (isErrorCode(c)) code = c
    } catch {
      reason = 'malformed abort reason'
    }
    const err = new ConclaveError('SESSION_ABORTED', `aborted by ${by.slice(0, 16)}…: ${code} ${reason}`, {
      by,
      code,
      reason,
    })
    this.fail(s, err, by)
  }

  /** Abort the open sessions `peer` takes part in: it restarted (a new epoch). */
  peerRestarted(sessions: Iterable<SessionState>, peer: PartyId): void {
    for (const s of sessions) {
      if (s.status === 'open' && s.participants.has(peer)) {
        this.fail(
          s,
          new ConclaveError('PEER_RESTARTED', `peer ${peer.slice(0, 16)}… restarted`, { peer }),
          peer,
        )
      }
    }
  }

  /** Fail `s` with `err` (journaled as ended): its waiters get `err`, the application an event. */
  fail(s: SessionState, err: ConclaveError, by?: PartyId, silent?: PartyId[]): void {
    if (s.status !== 'open') return
    s.status = 'aborted'
    s.failure = err
    this.deps.journal.end(s.id)
    s.inbox.fail(err)
    this.deps.counter.sessionsAborted++
    const code =
      typeof err.details.code === 'string' && isErrorCode(err.details.code) ? err.details.code : err.code
    this.deps.emit({
      type: 'session',
      sessionId: s.id,
      state: 'aborted',
      code,
      reason: err.message,
      ...(by ? { by } : {}),
      ...(silent && silent.length > 0 ? { silent } : {}),
    })
    this.deps.failed(s)
  }
}
