/**
 * Running one protocol session among N parties without a coordinator: wait until N − 1 peers
 * are ready, let the smallest PartyId propose, join its proposal, run; when the session fails
 * for a reason a retry can cure (a peer restarted, a round timed out, an abort), do it again
 * with a fresh proposal.
 * @module
 */
import {
  ConclaveError,
  errorCode,
  type Party,
  type PartyId,
  type ProposalInfo,
  type Session,
} from '@conclave/core'
import type { CoordinationEvent } from './events.ts'
import type { FinishedSessions } from './finished-sessions.ts'
import { type ProposalExpectation, proposalMismatch } from './proposal-match.ts'

/** Options of {@link runCoordinated}. */
export interface CoordinateOptions<T> {
  protocol: string
  /** The params of this party's proposals (see `ProtocolRun.params`). @default empty */
  params?: Uint8Array
  /**
   * Session size (this party included). With `follow`, 0 means any size; otherwise a proposal
   * with another participant count is declined.
   */
  parties: number
  /**
   * The sessions already run (kept across restarts): a proposal of one of them is declined
   * (`SESSION_FINISHED`); each joined or proposed session is added before it runs.
   */
  finished?: FinishedSessions
  /** The roster's parties, if any: a proposal naming anyone else is declined. */
  roster?: ProposalExpectation['roster']
  /**
   * Never propose: join every proposal of `protocol` that names this party, from anyone, as long
   * as it matches `parties`, `roster` and `params` (otherwise a `declined` event: see
   * {@link CoordinationEvent}).
   */
  follow?: boolean
  roundTimeoutMs: number
  /** ms since epoch after which the run gives up. */
  deadline: number
  run: (session: Session) => Promise<T>
  /** Called on every step worth reporting. */
  progress?: (event: CoordinationEvent) => void
  /** @default 6 */
  maxAttempts?: number
  signal?: AbortSignal
}

const RETRYABLE = new Set([
  'SESSION_ABORTED',
  'PEER_RESTARTED',
  'ROUND_TIMEOUT',
  'PEER_UNREACHABLE',
  'LINK_CLOSED',
])

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Wait until `party` has at least `n` ready peers. */
async function waitForPeers(
  party: Party,
  n: number,
  deadline: number,
  signal?: AbortSignal,
): Promise<PartyId[]> {
  for (;;) {
    const ready = party.peers().map((p) => p.peer)
    if (ready.length >= n) return ready
    if (signal?.aborted) throw new ConclaveError('ABORTED', 'aborted')
    if (Date.now() > deadline) {
      throw new ConclaveError(
        'PEER_UNREACHABLE',
        `only ${ready.length} of ${n} peers ready before the deadline`,
        { ready },
      )
    }
    await sleep(50)
  }
}

/** What {@link waitForProposal} looks for, and where it reports what it declines. */
interface ProposalWatch {
  protocol: string
  expect: ProposalExpectation
  /** Any proposer, not only the smallest participant (`follow`). */
  anyProposer: boolean
  /** Session ids already declined (each is reported once). */
  declined: Set<string>
  finished: FinishedSessions | undefined
  progress: ((event: CoordinationEvent) => void) | undefined
  attempt: number
}

/**
 * Wait for a proposal of `protocol` whose proposer is its smallest participant (or anyone, with
 * `anyProposer`) and that matches what this party expects; the others are declined, each
 * reported once as a `declined` event.
 */
async function waitForProposal(
  party: Party,
  w: ProposalWatch,
  after: number,
  untilMs: number,
): Promise<ProposalInfo | undefined> {
  for (;;) {
    const candidates = party
      .proposals()
      .filter(
        (x) =>
          x.protocol === w.protocol &&
          x.receivedAt >= after &&
          !w.declined.has(x.sessionId) &&
          (w.anyProposer || x.proposer === [...x.participants].sort()[0]),
      )
      .sort((a, b) => b.receivedAt - a.receivedAt)
    for (const p of candidates) {
      const mismatch = w.finished?.has(p.sessionId)
        ? { code: 'SESSION_FINISHED', reason: 'this party has run this session already' }
        : proposalMismatch(p, w.expect)
      if (!mismatch) return p
      w.declined.add(p.sessionId)
      w.progress?.({
        event: 'declined',
        attempt: w.attempt,
        sessionId: p.sessionId,
        proposer: p.proposer,
        ...mismatch,
      })
    }
    if (Date.now() > untilMs) return undefined
    await sleep(25)
  }
}

/**
 * Run `run` in a session of `parties` parties; resolves to its result.
 * @throws ConclaveError the last failure when attempts or time run out
 */
export async function runCoordinated<T>(party: Party, o: CoordinateOptions<T>): Promise<T> {
  const max = o.maxAttempts ?? 6
  let last: unknown
  let since = 0
  const declined = new Set<string>()
  const expect: ProposalExpectation = {
    ...(o.parties > 0 ? { parties: o.parties } : {}),
    ...(o.roster ? { roster: o.roster } : {}),
    ...(o.params ? { params: o.params } : {}),
  }
  for (let attempt = 1; attempt <= max; attempt++) {
    const watch = (anyProposer: boolean): ProposalWatch => ({
      protocol: o.protocol,
      expect,
      anyProposer,
      declined,
      finished: o.finished,
      progress: o.progress,
      attempt,
    })
    o.progress?.({ event: 'waiting', attempt, ...(o.follow ? { follow: true } : { parties: o.parties }) })
    let session: Session | undefined
    if (o.follow) {
      const p = await waitForProposal(party, watch(true), since, o.deadline)
      if (!p) throw new ConclaveError('ROUND_TIMEOUT', 'no proposal arrived before the deadline')
      since = p.receivedAt + 1
      session = party.join(p.sessionId, { roundTimeoutMs: o.roundTimeoutMs })
      o.progress?.({ event: 'joined', attempt, sessionId: p.sessionId, proposer: p.proposer })
      o.finished?.add(p.sessionId)
      try {
        return await o.run(session)
      } catch (e) {
        last = e
        const code = errorCode(e) ?? (e as { code?: string }).code
        if (!code || !RETRYABLE.has(code) || Date.now() > o.deadline) throw e
        o.progress?.({ event: 'retry', attempt, code, reason: e instanceof Error ? e.message : String(e) })
        continue
      } finally {
        // run or failed, the session is over here: its state goes, its id stays (#16 item 12)
        session.close()
      }
    }
    const ready = await waitForPeers(party, o.parties - 1, o.deadline, o.signal)
    const chosen = [party.id, ...[...ready].sort().slice(0, o.parties - 1)].sort()
    if (chosen[0] === party.id) {
      session = await party.propose({
        protocol: o.protocol,
        ...(o.params ? { params: o.params } : {}),
        participants: chosen,
        roundTimeoutMs: o.roundTimeoutMs,
      })
      o.progress?.({ event: 'proposed', attempt, sessionId: session.id, participants: chosen })
      o.finished?.add(session.id)
    } else {
      const p = await waitForProposal(
        party,
        watch(false),
        since,
        Math.min(o.deadline, Date.now() + o.roundTimeoutMs),
      )
      if (!p) {
        last = new ConclaveError('ROUND_TIMEOUT', 'no proposal arrived')
        o.progress?.({ event: 'retry', attempt, code: 'ROUND_TIMEOUT', reason: 'no proposal arrived' })
        continue
      }
      since = p.receivedAt + 1
      session = party.join(p.sessionId, { roundTimeoutMs: o.roundTimeoutMs })
      o.progress?.({ event: 'joined', attempt, sessionId: p.sessionId, proposer: p.proposer })
      o.finished?.add(p.sessionId)
    }
    try {
      return await o.run(session)
    } catch (e) {
      last = e
      const code = errorCode(e) ?? (e as { code?: string }).code
      if (!code || !RETRYABLE.has(code) || Date.now() > o.deadline) throw e
      o.progress?.({ event: 'retry', attempt, code, reason: e instanceof Error ? e.message : String(e) })
    } finally {
      session.close()
    }
    await sleep(200)
  }
  throw last instanceof Error ? last : new ConclaveError('SESSION_ABORTED', 'no attempt succeeded')
}
