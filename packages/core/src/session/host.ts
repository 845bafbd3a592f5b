/**
 * The in-thread session host: the front of the `SessionHost` seam. Its parts, each in a module
 * of its own and wired in `assemble.ts`: the per-peer record (`peer-table.ts`), the link table
 * with keepalive, RTT, health and relink (`link-table.ts`, `link-events.ts`), the receive path
 * (`receive.ts`), admission (`admission.ts`, acted on by `intake.ts`), delivery over links
 * (`streams.ts`), signing and batching (`signer.ts`), refusals (`refusals.ts`), proposals and
 * grants (`proposals.ts`), session control and abort (`control.ts`), the sessions
 * (`session-table.ts`), waits on inboxes (`collect.ts`), consistent broadcast
 * (`consistent-broadcast.ts`), and the journal (`journal.ts`, `journal-restore.ts`). The same
 * class runs inside a Worker behind comlink; here it runs on the caller's thread.
 * @module
 */
import type { CounterSnapshot, Counters } from '../counters.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError, type ErrorCode } from '../errors.ts'
import { BROADCAST_RECIPIENT, type PartyId, type SessionId } from '../ids.ts'
import type { TransportKind } from '../transport/types.ts'
import { encodePayload } from '../wire/envelope.ts'
import { encodeProposal } from '../wire/proposal.ts'
import { deriveSessionId } from '../wire/sid.ts'
import { assembleHost } from './assemble.ts'
import { inboxBudgets } from './budgets.ts'
import { collectFrom, DEFAULT_KIND } from './collect.ts'
import { echo } from './consistent-broadcast.ts'
import type { SessionControl } from './control.ts'
import type { Held } from './held-unit.ts'
import type { SessionHostConfig } from './host-config.ts'
import type { InboxBudgets } from './inbox.ts'
import type { Intake } from './intake.ts'
import type { Journal } from './journal.ts'
import type { Limits } from './limits.ts'
import type { LinkEvents } from './link-events.ts'
import { health, keepalive, type LinkTable } from './link-table.ts'
import type { PeerTable } from './peer-table.ts'
import type { ProposalBook } from './proposals.ts'
import { CONTROL_ROUND, PROPOSAL_KIND, SessionState } from './session-state.ts'
import { checkPeer, checkRound, type SessionTable } from './session-table.ts'
import type { Signer } from './signer.ts'
import type {
  HostSink,
  LinkInfo,
  PartyEvent,
  PeerInfo,
  ProposalInfo,
  ProposeOptions,
  ReceiveOptions,
  SessionHost,
  SessionOptions,
  SessionResume,
} from './types.ts'
import type { UnknownSessionBuffer } from './unknown-buffer.ts'

export type { SessionHostConfig } from './host-config.ts'

/** The in-thread session host. */
export class InThreadSessionHost implements SessionHost {
  readonly self: PartyId
  /** True when no roster restricts who may connect. */
  readonly open: boolean
  readonly epoch: Uint8Array
  readonly limits: Limits
  private readonly selfBytes: Uint8Array
  private readonly crypto: CryptoBackend
  private readonly now: () => number
  private sink: HostSink | undefined
  private stopped = false
  private keepaliveTimer: ReturnType<typeof setInterval> | undefined
  private readonly counter: Counters
  private readonly journal: Journal
  private readonly peerTable: PeerTable
  private readonly links: LinkTable
  private readonly sessions: SessionTable
  private readonly unknown: UnknownSessionBuffer<Held>
  private readonly signer: Signer
  private readonly proposalBook: ProposalBook
  private readonly control: SessionControl
  private readonly intake: Intake
  private readonly linkEvents: LinkEvents
  private readonly inboxBudgets: InboxBudgets

  constructor(config: SessionHostConfig) {
    const parts = assembleHost(config, {
      stopped: () => this.stopped,
      sink: () => this.sink,
      out: () => this.out,
      emit: (e) => this.emit(e),
      post: (s, round, kind, body, to) => this.post(s, round, kind, body, to),
    })
    this.crypto = parts.crypto
    this.selfBytes = parts.selfBytes
    this.self = parts.self
    this.open = config.roster === undefined
    this.limits = parts.limits
    this.now = parts.now
    this.epoch = parts.epoch
    this.counter = parts.counter
    this.journal = parts.journal
    this.peerTable = parts.peerTable
    this.links = parts.links
    this.sessions = parts.sessions
    this.unknown = parts.unknown
    this.signer = parts.signer
    this.proposalBook = parts.proposalBook
    this.control = parts.control
    this.intake = parts.intake
    this.linkEvents = parts.linkEvents
    this.inboxBudgets = inboxBudgets(parts.budgets)
  }

  /** Progress of a session resumed from the outbox store, once the application reopened it. */
  resumeOf(sessionId: SessionId): SessionResume | undefined {
    return this.sessions.resumeOf(sessionId)
  }

  connect(sink: HostSink): void {
    this.sink = sink
    if (!this.keepaliveTimer && this.limits.keepaliveMs > 0) {
      this.keepaliveTimer = setInterval(
        () => keepalive(this.peerTable.readyLinks(), this.now(), this.limits.lostAfterMs),
        Math.min(this.limits.keepaliveMs, this.limits.lostAfterMs / 3),
      )
      ;(this.keepaliveTimer as { unref?: () => void }).unref?.()
    }
    // units kept by the outbox store wait for their peers: ask for links until they are ready
    for (const p of this.peerTable.values())
      if (p.delivery.pendingCount > 0) this.linkEvents.relinkLater(p.id)
  }

  private get out(): HostSink {
    if (!this.sink) throw new ConclaveError('NOT_STARTED', 'session host has no sink: call connect() first')
    return this.sink
  }

  private emit(event: PartyEvent): void {
    this.sink?.event(event)
  }

  linkOpened(info: LinkInfo): void {
    if (this.stopped) return
    this.linkEvents.opened(info)
  }

  linkFrame(linkId: string, frame: Uint8Array): void {
    this.linkEvents.frame(linkId, frame)
  }

  linkClosed(linkId: string, code: ErrorCode, reason: string): void {
    this.linkEvents.closed(linkId, code, reason)
  }

  // ── sending ───────────────────────────────────────────────────────────────────────────

  /** Sign and queue an envelope of `s` (to one participant, or broadcast to the others). */
  private post(
    s: SessionState,
    round: number,
    kind: string,
    body: Uint8Array,
    to: PartyId | 'broadcast',
    onUnit?: (unit: Uint8Array) => void,
  ): Promise<void> {
    const seq = s.nextSeq(to)
    if (!(body instanceof Uint8Array))
      throw new ConclaveError('INVALID_ARGUMENT', '"body" expected Uint8Array')
    const payload = encodePayload(
      { sessionId: s.idBytes, round, kind, from: this.selfBytes, epoch: this.epoch, seq, body },
      this.limits.maxMessageBytes,
    )
    const broadcast = to === 'broadcast'
    return this.signer.dispatch(
      payload,
      broadcast ? BROADCAST_RECIPIENT : s.bytesOf(to),
      broadcast ? s.others : [to],
      { sessionId: s.id, stream: to, seq },
      onUnit,
    )
  }

  proposals(): ProposalInfo[] {
    return this.proposalBook.list()
  }

  async propose(options: ProposeOptions): Promise<SessionId> {
    const input = {
      protocol: options.protocol,
      params: options.params ?? new Uint8Array(0),
      participants: [...options.participants],
      proposer: this.self,
      nonce: options.nonce ?? this.crypto.randomBytes(32),
    }
    const id = deriveSessionId(input)
    await this.proposalBook.spendOwn(options.grant, id, input.participants)
    const body = encodeProposal(input, options.grant)
    this.openSession(
      {
        id,
        participants: input.participants,
        ...(options.roundTimeoutMs !== undefined ? { roundTimeoutMs: options.roundTimeoutMs } : {}),
        ...(options.roundTimeouts !== undefined ? { roundTimeouts: options.roundTimeouts } : {}),
      },
      true,
    )
    const s = this.sessions.get(id)
    s.proposal = encodeProposal(input)
    s.proposer = this.self
    await this.post(s, CONTROL_ROUND, PROPOSAL_KIND, body, 'broadcast')
    return id
  }

  // ── sessions ──────────────────────────────────────────────────────────────────────────

  /**
   * Open a session. With grants required, only a session whose proposal carried a valid grant
   * (or that this party proposed with one) may open; the grantId is then spent.
   * @throws ConclaveError `SESSION_EXISTS`, `GRANT_REQUIRED`, `GRANT_EXPIRED`, `GRANT_REPLAYED`
   */
  openSession(options: SessionOptions, proposedHere = false): void {
    if (this.sessions.wake(options.id)) {
      // resumed from the outbox store: it already accepts units; the application is back
      const s = this.sessions.get(options.id)
      this.emit({ type: 'session', sessionId: s.id, state: 'opened' })
      this.requestLinks(s)
      return
    }
    if (this.sessions.hasRun(options.id)) {
      throw new ConclaveError(
        'SESSION_EXISTS',
        `session ${options.id.slice(0, 16)}… was already opened by this party`,
      )
    }
    this.proposalBook.spendJoin(options.id, proposedHere)
    const s = new SessionState(options, this.self, this.limits, this.now(), this.inboxBudgets)
    const { proposer, preimage } = this.proposalBook.take(s.id)
    s.proposal = preimage
    if (proposer) s.proposer = proposer
    this.journal.open({
      id: s.id,
      participants: [...options.participants],
      ...(options.roundTimeoutMs !== undefined ? { roundTimeoutMs: options.roundTimeoutMs } : {}),
      ...(options.roundTimeouts !== undefined ? { roundTimeouts: options.roundTimeouts } : {}),
    })
    this.sessions.add(s)
    this.counter.sessionsOpened++
    this.emit({ type: 'session', sessionId: s.id, state: 'opened' })
    this.requestLinks(s)
    // held units were processed (and acknowledged) long ago: their delivery numbers are stale
    for (const held of this.unknown.release(s.id))
      this.intake.accept({ ...held.item, deliverySeq: undefined })
    if (proposer && proposer !== this.self) this.control.sendAck(s, proposer)
  }

  private requestLinks(s: SessionState): void {
    for (const peer of s.others) if (!this.peerTable.find(peer)?.link) this.out.requestLink(peer)
  }

  async send(
    sessionId: SessionId,
    to: PartyId,
    round: number,
    body: Uint8Array,
    kind = DEFAULT_KIND,
  ): Promise<void> {
    const s = this.sessions.get(sessionId)
    s.assertOpen()
    checkPeer(s, to, 'to')
    checkRound(round)
    this.sessions.touch(s, round)
    await this.post(s, round, kind, body, to)
  }

  async broadcast(sessionId: SessionId, round: number, body: Uint8Array, kind = DEFAULT_KIND): Promise<void> {
    const s = this.sessions.get(sessionId)
    s.assertOpen()
    checkRound(round)
    this.sessions.touch(s, round)
    const key = `${this.self}|${round}|${kind}`
    await this.post(s, round, kind, body, 'broadcast', (unit) => {
      if (!s.broadcastUnits.has(key)) s.broadcastUnits.set(key, unit)
    })
  }

  async receive(
    sessionId: SessionId,
    from: PartyId,
    round: number,
    options: ReceiveOptions = {},
  ): Promise<Uint8Array> {
    // a message already waiting: no timer, no wait (the common case of a stream read in a loop)
    if (options.signal?.aborted !== true) {
      const s = this.sessions.get(sessionId)
      s.assertOpen()
      checkRound(round)
      checkPeer(s, from, 'from')
      const key = { from, round, kind: options.kind ?? DEFAULT_KIND, broadcast: options.broadcast ?? false }
      const body = s.inbox.tryTake(key)
      if (body !== undefined) {
        this.sessions.touch(s, round)
        this.journal.take(s.id, key)
        return body
      }
    }
    const result = await this.collectFrom(sessionId, [from], round, options)
    return result.get(from)!
  }

  async collect(
    sessionId: SessionId,
    round: number,
    options: ReceiveOptions = {},
  ): Promise<Map<PartyId, Uint8Array>> {
    const s = this.sessions.get(sessionId)
    const got = await this.collectFrom(sessionId, s.others, round, options)
    if (options.consistent) {
      if (!options.broadcast)
        throw new ConclaveError('INVALID_ARGUMENT', '"consistent" applies to broadcasts only')
      await echo(
        {
          crypto: this.crypto,
          maxMessageBytes: this.limits.maxMessageBytes,
          broadcast: (s, round, body, kind) => this.broadcast(s.id, round, body, kind),
          receive: (s, from, round, options) => this.receive(s.id, from, round, options),
          abortWith: (s, err, silent) => this.control.abortWith(s, err, silent),
        },
        s,
        round,
        options.kind ?? DEFAULT_KIND,
        options,
      )
    }
    return got
  }

  private collectFrom(
    sessionId: SessionId,
    from: readonly PartyId[],
    round: number,
    options: ReceiveOptions,
  ): Promise<Map<PartyId, Uint8Array>> {
    const s = this.sessions.get(sessionId)
    s.assertOpen()
    checkRound(round)
    for (const f of from) checkPeer(s, f, 'from')
    this.sessions.touch(s, round)
    return collectFrom(
      {
        now: this.now,
        journal: this.journal,
        abortWith: (s, err, silent) => this.control.abortWith(s, err, silent),
      },
      s,
      from,
      round,
      options,
    )
  }

  async started(sessionId: SessionId, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.control.started(this.sessions.get(sessionId), options)
  }

  async abort(sessionId: SessionId, reason: string): Promise<void> {
    const s = this.sessions.get(sessionId)
    if (s.status !== 'open') return
    await this.control.abortWith(
      s,
      new ConclaveError('SESSION_ABORTED', `aborted by this party: ${reason}`, { by: this.self, reason }),
      [],
    )
  }

  /**
   * Close a session: its state is released at once (its `closed` event says so), and only its
   * id stays, in the bounded set of ended sessions (never opened again; late units dropped
   * without blame). A failed session is released on its own after a linger.
   */
  closeSession(sessionId: SessionId): void {
    const s = this.sessions.find(sessionId)
    if (!s) return
    if (s.status === 'open') {
      s.status = 'closed'
      s.inbox.fail(new ConclaveError('SESSION_CLOSED', 'session closed'))
    }
    // closed by the application (not by stop(): a stopped host's sessions resume next time)
    this.journal.end(sessionId)
    this.sessions.release(s)
  }

  // ── introspection ─────────────────────────────────────────────────────────────────────

  peers(): PeerInfo[] {
    const now = this.now()
    const out: PeerInfo[] = []
    for (const p of this.peerTable.values()) {
      const l = p.link
      if (!l) continue
      out.push({
        peer: p.id,
        transport: l.info.kind as TransportKind,
        since: l.since,
        clockOffsetMs: l.result!.clockOffsetMs,
        rttMs: l.rttMs,
        health: health(p, l, now),
        pendingUnits: p.delivery.pendingCount,
        pendingBytes: p.delivery.pendingBytes,
      })
    }
    return out
  }

  counters(): CounterSnapshot {
    return this.counter.snapshot()
  }

  /** Bytes held in reassembly for `peer`'s ready link (for cap tests and metrics). */
  reassemblyBytes(peer: PartyId): number {
    return this.peerTable.find(peer)?.link?.channel.reassemblyBytes ?? 0
  }

  /** Sessions held in the unknown-session buffer, and bytes held for `from`. */
  unknownSessionUsage(from: PartyId): { sessions: number; bytes: number } {
    return { sessions: this.unknown.sessionCount, bytes: this.unknown.bytesFrom(from) }
  }

  /** Pending proposals, and the preimages kept for them. */
  proposalUsage(): { pending: number; preimages: number } {
    return this.proposalBook.usage
  }

  /**
   * What the host keeps of sessions: those with their state (open, or failed and lingering),
   * the ids of those that ended (bounded), and the progress kept of restored ones (for leak
   * tests and metrics).
   */
  sessionUsage(): { open: number; lingering: number; ended: number; resumed: number } {
    return this.sessions.usage
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer)
    for (const s of [...this.sessions.values()]) this.closeSession(s.id)
    this.sessions.clear()
    for (const l of this.links.list()) l.channel.close('LINK_CLOSED', 'party stopping')
    this.unknown.clear()
    this.proposalBook.clear()
    this.peerTable.clear()
    this.journal.close()
  }
}

/** A session host running on the caller's thread. */
export function createInThreadSessionHost(config: SessionHostConfig): InThreadSessionHost {
  return new InThreadSessionHost(config)
}
