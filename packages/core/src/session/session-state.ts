/**
 * The state of one open session inside the host: participants, inbox, replay memory,
 * outgoing sequence numbers, round deadlines and the current round.
 * @module
 */
import { toHex } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { type PartyId, partyIdToBytes, type SessionId, sessionIdToBytes } from '../ids.ts'
import { Inbox, type InboxBudgets } from './inbox.ts'
import type { Limits } from './limits.ts'
import { ReplayWindow } from './replay.ts'
import type { SessionOptions } from './types.ts'

/** Kind of the abort envelope in the control round. */
export const ABORT_KIND = 'abort'
/** Kind of the proposal envelope in the control round. */
export const PROPOSAL_KIND = 'proposal'
/** A participant's acceptance of a proposal, sent to the proposer. */
export const ACK_KIND = 'ack'
/** The proposer's word that every participant acknowledged: round 1 may begin. */
export const START_KIND = 'start'
/** The control round. */
export const CONTROL_ROUND = 0

/** One session's state. */
export class SessionState {
  readonly id: SessionId
  /** The id's 32 bytes (every envelope carries them). */
  readonly idBytes: Uint8Array
  private readonly peerBytes = new Map<PartyId, Uint8Array>()
  readonly participants: ReadonlySet<PartyId>
  readonly others: readonly PartyId[]
  readonly inbox: Inbox
  readonly replay = new ReplayWindow()
  /** Streams `(from, epoch)` whose first unit passed the freshness check. */
  readonly freshStreams = new Set<string>()
  readonly openedAt: number
  private readonly seqs = new Map<string, bigint>()
  /** Signed broadcast units by `from|round|kind` (the first of each), for the echo step. */
  readonly broadcastUnits = new Map<string, Uint8Array>()
  /** The session id's preimage (the proposal), when it came from one. */
  proposal: Uint8Array | undefined
  /** The proposer, for sessions that came from a proposal (this party or another). */
  proposer: PartyId | undefined
  /** Participants whose ack the proposer has. */
  readonly acks = new Set<PartyId>()
  /** Settled when the session has started (see `started`). */
  startedAt: number | undefined
  readonly startWaiters: { resolve(): void; reject(e: unknown): void }[] = []
  /** Highest round this party has sent in or waited on. */
  currentRound = 1
  status: 'open' | 'aborted' | 'closed' = 'open'
  private failedWith: ConclaveError | undefined

  /**
   * Why the session failed. Its stack is formatted as it is stored: until then V8 keeps every
   * frame's receiver alive (a link's secure channel and its buffers, when the failure came
   * from a handshake), for as long as the error is kept.
   */
  get failure(): ConclaveError | undefined {
    return this.failedWith
  }

  set failure(e: ConclaveError | undefined) {
    if (e) void e.stack
    this.failedWith = e
  }

  constructor(
    options: SessionOptions,
    readonly self: PartyId,
    private readonly limits: Limits,
    now: number,
    /** The host's inbox byte budgets (shared by its sessions). @default unbounded */
    budgets?: InboxBudgets,
  ) {
    this.id = options.id
    this.idBytes = sessionIdToBytes(options.id)
    const set = new Set(options.participants)
    if (set.size !== options.participants.length) {
      throw new ConclaveError('INVALID_ARGUMENT', '"participants" has duplicates')
    }
    if (!set.has(self)) throw new ConclaveError('INVALID_ARGUMENT', '"participants" must include this party')
    if (set.size < 2)
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"participants" expected at least 2 parties, got ${set.size}`,
      )
    this.participants = set
    this.others = [...set].filter((p) => p !== self).sort()
    this.inbox = new Inbox(limits.inboxPerSender, budgets)
    this.openedAt = now
    this.roundTimeoutMs = options.roundTimeoutMs ?? limits.roundTimeoutMs
    this.roundTimeouts = options.roundTimeouts ?? {}
  }

  private readonly roundTimeoutMs: number
  private readonly roundTimeouts: Readonly<Record<number, number>>

  /** Deadline of `round` (ms since epoch): cumulative over rounds 1…round from the opening. */
  deadline(round: number): number {
    let t = this.openedAt
    for (let r = 1; r <= Math.max(round, 1); r++) t += this.roundTimeouts[r] ?? this.roundTimeoutMs
    return t
  }

  /** The next sequence number of the stream towards `to` (or the broadcast stream). */
  nextSeq(to: PartyId | 'broadcast'): bigint {
    const s = this.seqs.get(to) ?? 0n
    this.seqs.set(to, s + 1n)
    return s
  }

  /** Continue the stream towards `to` at `next` (a session resumed from an outbox store). */
  restoreSeq(to: string, next: bigint): void {
    this.seqs.set(to, next)
  }

  /** Note that this party acts in `round`. */
  touch(round: number): void {
    if (round > this.currentRound) this.currentRound = round
  }

  /** True when a message of `round` is further ahead than the window allows. */
  tooFarAhead(round: number): boolean {
    return round > this.currentRound + this.limits.futureRoundWindow
  }

  /** @throws ConclaveError the session's failure, or `SESSION_CLOSED` */
  assertOpen(): void {
    if (this.failure) throw this.failure
    if (this.status !== 'open')
      throw new ConclaveError('SESSION_CLOSED', `session ${this.id.slice(0, 16)}… is ${this.status}`)
  }

  /** Key of a replay stream. */
  /** A participant's PartyId bytes (parsed once). */
  bytesOf(peer: PartyId): Uint8Array {
    let b = this.peerBytes.get(peer)
    if (b === undefined) {
      b = partyIdToBytes(peer)
      this.peerBytes.set(peer, b)
    }
    return b
  }

  static stream(from: Uint8Array, to: Uint8Array, epoch: Uint8Array): string {
    return `${toHex(from)}|${toHex(to)}|${toHex(epoch)}`
  }
}
