/**
 * The main-thread side of the session host boundary: {@link createWorkerSessionHost} returns a
 * `SessionHost` (so `createParty({ host })` works unchanged) whose work runs in a Worker.
 *
 * How the synchronous methods of `SessionHost` stay synchronous:
 * - `linkOpened`, `linkFrame`, `linkClosed`, `openSession`, `closeSession` are queued and sent as
 *   one batch per turn (frames transferred). Any call with a result first sends the queue, so the
 *   Worker sees every call in the caller's order (comlink keeps order on one endpoint).
 * - `openSession` checks on this side what makes it throw (a session id opened before, the
 *   participants): the same `SESSION_EXISTS` / `INVALID_ARGUMENT` the in-thread host throws. A
 *   failure only the Worker can see becomes a `drop` event, and the calls that follow on that
 *   session reject with the original error.
 * - `peers()`, `counters()` and `proposals()` answer from a snapshot the Worker sends with every
 *   batch and every result: after `await receive(…)` the counters include that message; frames
 *   still queued in this turn are not counted yet.
 * - `resumeOf()` answers from what the Worker's outbox store held at start (`restored()`), once
 *   the session was reopened through this host.
 * @module
 */
import { type Endpoint, expose, type Remote, transfer, wrap } from 'comlink'
import type { CounterSnapshot } from '../counters.ts'
import { ConclaveError, type ErrorCode, errorCode } from '../errors.ts'
import { type PartyId, partyIdFromBytes, type SessionId } from '../ids.ts'
import { type Limits, resolveLimits } from '../session/limits.ts'
import { SessionState } from '../session/session-state.ts'
import type {
  HostSink,
  LinkInfo,
  PeerInfo,
  ProposalInfo,
  ProposeOptions,
  ReceiveOptions,
  SessionHost,
  SessionOptions,
  SessionResume,
} from '../session/types.ts'
import { checkWorkerHostConfig } from './config.ts'
import { registerErrorTransfer } from './errors.ts'
import { TransferList } from './transfer.ts'
import type {
  HostOp,
  HostSnapshot,
  RemoteSink,
  RestoredSession,
  SinkBatch,
  WireReceiveOptions,
  WithSnapshot,
  WorkerHostApi,
  WorkerHostConfig,
} from './types.ts'

/** A session host running in a Worker. */
export interface WorkerSessionHost extends SessionHost {
  /** This party. */
  readonly self: PartyId
  /**
   * End the Worker now. Calls still pending reject with `NOT_STARTED`; `stop()` ends it too, after
   * the host's last batch. Idempotent.
   */
  terminate(): void
  /** Resolves once the Worker is gone (after `stop()` or `terminate()`). */
  readonly closed: Promise<void>
  /**
   * The sessions the Worker's outbox store (`WorkerHostConfig.outbox`) held open at start: each
   * waits, dormant, until `party.session(options)` resumes it (`Session.resumed` is then its
   * `resume`); its `waiting` messages are in its inbox, not announced again. A session the
   * application cannot continue (its protocol state is gone) is best reopened and aborted, so
   * that its peers learn it now rather than at a round deadline. Empty without a store.
   */
  restored(): RestoredSession[]
  /** What a restored session had done, once it was reopened through this host. */
  resumeOf(sessionId: SessionId): SessionResume | undefined
}

/** Platform hooks of {@link createWorkerSessionHost}. */
export interface WorkerSessionHostOptions {
  /** End the Worker (`worker.terminate()`); a returned promise delays `closed`. */
  terminate?: () => unknown
  /**
   * Called once with `fail`, which the caller invokes when the Worker dies (its `error` or `exit`
   * event): pending calls then reject with that error and the host is gone.
   */
  watch?: (fail: (error: unknown) => void) => void
  /** How long `stop()` waits for the Worker's last batch before ending it anyway (ms). @default 2000 */
  stopTimeoutMs?: number
}

const stoppedError = (): ConclaveError => new ConclaveError('NOT_STARTED', 'the session host is stopped')

function emptyCounters(): CounterSnapshot {
  return {
    byTransport: {},
    drops: {},
    handshakeFailures: {},
    handshakes: 0,
    retransmits: 0,
    duplicates: 0,
    inboxWaits: 0,
    throttled: 0,
    sessionsOpened: 0,
    sessionsAborted: 0,
    batchesSent: 0,
    batchesReceived: 0,
  }
}

/** Only the fields of SessionOptions, cloneable. */
function wireSessionOptions(o: SessionOptions): SessionOptions {
  return {
    id: o.id,
    participants: [...o.participants],
    ...(o.roundTimeoutMs !== undefined ? { roundTimeoutMs: o.roundTimeoutMs } : {}),
    ...(o.roundTimeouts !== undefined ? { roundTimeouts: { ...o.roundTimeouts } } : {}),
  }
}

function wireReceiveOptions(o: ReceiveOptions): WireReceiveOptions {
  return {
    ...(o.kind !== undefined ? { kind: o.kind } : {}),
    ...(o.broadcast !== undefined ? { broadcast: o.broadcast } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.signal?.aborted ? { aborted: true } : {}),
  }
}

class WorkerSessionHostProxy implements WorkerSessionHost {
  readonly self: PartyId
  readonly closed: Promise<void>
  private readonly limits: Limits
  private readonly remote: Remote<WorkerHostApi>
  private state: 'starting' | 'running' | 'stopping' | 'gone' = 'starting'
  private sink: HostSink | undefined
  private ops: HostOp[] = []
  private transfers = new TransferList()
  private scheduled = false
  private snap: HostSnapshot = { version: 0, peers: [], counters: emptyCounters(), proposals: [] }
  /** Every session id opened through this host (ids are never reused). */
  private readonly opened = new Set<SessionId>()
  /** What the Worker's outbox store held open at start. */
  private restoredList: RestoredSession[] = []
  private readonly pending = new Set<(e: unknown) => void>()
  private waitSeq = 0
  /** Where the Worker's batches arrive; closed when the Worker ends. */
  private sinkPort: MessagePort | undefined
  private resolveClosed!: () => void

  constructor(
    endpoint: Endpoint,
    private readonly config: WorkerHostConfig,
    private readonly options: WorkerSessionHostOptions,
  ) {
    this.self = partyIdFromBytes(config.identity.publicKey)
    this.limits = resolveLimits(config.limits)
    this.remote = wrap<WorkerHostApi>(endpoint)
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve
    })
    options.watch?.((error) => this.fail(error))
  }

  async start(): Promise<void> {
    const sink: RemoteSink = { deliver: (batch) => this.deliver(batch) }
    // what comlink.proxy(sink) does, keeping our end of the channel so that fail() can close it
    const { port1, port2 } = new MessageChannel()
    this.sinkPort = port1
    expose(sink, port1 as unknown as Endpoint)
    const started = await this.track(this.remote.start(this.config, transfer(port2, [port2])))
    this.restoredList = started.restored
    this.applySnapshot(started.snapshot)
    if (this.state === 'starting') this.state = 'running'
  }

  // ── Worker → main ───────────────────────────────────────────────────────────────────

  private deliver(batch: SinkBatch): void {
    if (this.state === 'gone') return
    this.applySnapshot(batch.snapshot)
    const sink = this.sink
    if (!sink) return
    for (const op of batch.ops) {
      try {
        switch (op.op) {
          case 'send-frame':
            sink.sendFrame(op.linkId, op.frame)
            break
          case 'close-link':
            sink.closeLink(op.linkId, op.code, op.reason)
            break
          case 'request-link':
            sink.requestLink(op.peer)
            break
          case 'event':
            sink.event(op.event)
            break
        }
      } catch (e) {
        this.report(e, `${op.op} failed on the main thread`)
      }
    }
  }

  private applySnapshot(s: HostSnapshot): void {
    if (s.version > this.snap.version) this.snap = s
  }

  private report(e: unknown, what: string, code: ErrorCode = 'INVALID_ARGUMENT'): void {
    this.sink?.event({
      type: 'drop',
      code: errorCode(e) ?? code,
      reason: `${what}: ${e instanceof Error ? e.message : String(e)}`,
    })
  }

  // ── main → Worker ───────────────────────────────────────────────────────────────────

  private push(op: HostOp): void {
    if (this.state !== 'running') return
    this.ops.push(op)
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.flush()
    })
  }

  /** Send the queued void calls now, as one message. */
  private flush(): void {
    if (this.ops.length === 0 || this.state === 'gone') return
    const ops = this.ops
    const buffers = this.transfers.list()
    this.ops = []
    this.transfers = new TransferList()
    this.remote.apply(transfer(ops, buffers)).catch((e: unknown) => this.report(e, 'apply failed'))
  }

  /** Settle with the Worker's answer, or with the reason the Worker went away. */
  private track<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject)
      call.then(
        (value) => {
          this.pending.delete(reject)
          resolve(value)
        },
        (e: unknown) => {
          this.pending.delete(reject)
          reject(e)
        },
      )
    })
  }

  /** A call with a result: the queue goes first, the snapshot that comes back is applied. */
  private call<T>(invoke: () => Promise<WithSnapshot<T>>): Promise<T> {
    if (this.state !== 'running') return Promise.reject(stoppedError())
    this.flush()
    return this.track(invoke()).then((r) => {
      this.applySnapshot(r.snapshot)
      return r.value
    })
  }

  /** A receive / collect: its signal becomes a `waitId` that `cancel` aborts in the Worker. */
  private waitCall<T>(
    signal: AbortSignal | undefined,
    invoke: (waitId: string | undefined) => Promise<WithSnapshot<T>>,
  ): Promise<T> {
    if (!signal || signal.aborted) return this.call(() => invoke(signal ? `w${++this.waitSeq}` : undefined))
    const waitId = `w${++this.waitSeq}`
    const onAbort = (): void => {
      if (this.state !== 'running' && this.state !== 'stopping') return
      this.flush()
      this.remote.cancel(waitId).catch(() => undefined)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    const result = this.call(() => invoke(waitId))
    const off = (): void => signal.removeEventListener('abort', onAbort)
    result.then(off, off)
    return result
  }

  // ── SessionHost ─────────────────────────────────────────────────────────────────────

  connect(sink: HostSink): void {
    this.sink = sink
    this.push({ op: 'connect' })
  }

  linkOpened(info: LinkInfo): void {
    this.push({
      op: 'link-opened',
      info: {
        linkId: info.linkId,
        peer: info.peer,
        initiator: info.initiator,
        kind: info.kind,
        maxFrameSize: info.maxFrameSize,
        fingerprints: info.fingerprints
          ? { local: [...info.fingerprints.local], remote: [...info.fingerprints.remote] }
          : undefined,
      },
    })
  }

  /** Takes ownership of `frame`: when it spans its buffer exactly, that buffer is transferred (detached here). */
  linkFrame(linkId: string, frame: Uint8Array): void {
    if (this.state !== 'running') return
    this.push({ op: 'link-frame', linkId, frame: this.transfers.own(frame) })
  }

  linkClosed(linkId: string, code: ErrorCode, reason: string): void {
    this.push({ op: 'link-closed', linkId, code, reason })
  }

  /** @throws ConclaveError `SESSION_EXISTS`, `INVALID_ARGUMENT`, `NOT_STARTED` */
  openSession(options: SessionOptions): void {
    if (this.state !== 'running') throw stoppedError()
    if (this.opened.has(options.id)) {
      throw new ConclaveError(
        'SESSION_EXISTS',
        `session ${options.id.slice(0, 16)}… was already opened by this party`,
      )
    }
    // the in-thread host's own checks, run here so that they throw to the caller
    new SessionState(options, this.self, this.limits, 0)
    this.opened.add(options.id)
    this.push({ op: 'open-session', options: wireSessionOptions(options) })
  }

  propose(options: ProposeOptions): Promise<SessionId> {
    const params = new TransferList()
    const wire: ProposeOptions = {
      protocol: options.protocol,
      participants: [...options.participants],
      ...(options.params !== undefined ? { params: params.copy(options.params) } : {}),
      ...(options.roundTimeoutMs !== undefined ? { roundTimeoutMs: options.roundTimeoutMs } : {}),
      ...(options.roundTimeouts !== undefined ? { roundTimeouts: { ...options.roundTimeouts } } : {}),
    }
    return this.call(() => this.remote.propose(transfer(wire, params.list()))).then((id) => {
      this.opened.add(id)
      return id
    })
  }

  proposals(): ProposalInfo[] {
    const cutoff = Date.now() - this.limits.unknownSessionHoldMs
    return this.snap.proposals
      .filter((p) => p.receivedAt >= cutoff && !this.opened.has(p.sessionId))
      .map((p) => ({ ...p, params: p.params.slice(), participants: [...p.participants] }))
  }

  send(sessionId: SessionId, to: PartyId, round: number, body: Uint8Array, kind?: string): Promise<void> {
    if (!(body instanceof Uint8Array))
      return Promise.reject(new ConclaveError('INVALID_ARGUMENT', '"body" expected Uint8Array'))
    const t = new TransferList()
    const copy = t.copy(body)
    return this.call(() => this.remote.send(sessionId, to, round, transfer(copy, t.list()), kind))
  }

  broadcast(sessionId: SessionId, round: number, body: Uint8Array, kind?: string): Promise<void> {
    if (!(body instanceof Uint8Array))
      return Promise.reject(new ConclaveError('INVALID_ARGUMENT', '"body" expected Uint8Array'))
    const t = new TransferList()
    const copy = t.copy(body)
    return this.call(() => this.remote.broadcast(sessionId, round, transfer(copy, t.list()), kind))
  }

  receive(
    sessionId: SessionId,
    from: PartyId,
    round: number,
    options: ReceiveOptions = {},
  ): Promise<Uint8Array> {
    return this.waitCall(options.signal, (waitId) =>
      this.remote.receive(sessionId, from, round, wireReceiveOptions(options), waitId),
    )
  }

  collect(
    sessionId: SessionId,
    round: number,
    options: ReceiveOptions = {},
  ): Promise<Map<PartyId, Uint8Array>> {
    return this.waitCall(options.signal, (waitId) =>
      this.remote.collect(sessionId, round, wireReceiveOptions(options), waitId),
    )
  }

  abort(sessionId: SessionId, reason: string): Promise<void> {
    return this.call(() => this.remote.abort(sessionId, String(reason)))
  }

  started(sessionId: SessionId, options: { timeoutMs?: number } = {}): Promise<void> {
    return this.call(() => this.remote.started(sessionId, options.timeoutMs))
  }

  closeSession(sessionId: SessionId): void {
    this.push({ op: 'close-session', sessionId })
  }

  peers(): PeerInfo[] {
    return this.snap.peers.map((p) => ({ ...p }))
  }

  restored(): RestoredSession[] {
    return structuredClone(this.restoredList)
  }

  resumeOf(sessionId: SessionId): SessionResume | undefined {
    if (!this.opened.has(sessionId)) return undefined
    const r = this.restoredList.find((x) => x.options.id === sessionId)
    return r ? structuredClone(r.resume) : undefined
  }

  counters(): CounterSnapshot {
    return structuredClone(this.snap.counters)
  }

  /**
   * Stop the host in the Worker, let its last batch (close records, `closed` events) through,
   * then end the Worker. Calls made from now on reject with `NOT_STARTED`.
   */
  stop(): void {
    if (this.state !== 'running') {
      if (this.state === 'starting') this.terminate()
      return
    }
    this.flush()
    this.state = 'stopping'
    const timer = setTimeout(() => this.terminate(), this.options.stopTimeoutMs ?? 2000)
    const end = (): void => {
      clearTimeout(timer)
      this.terminate()
    }
    this.remote.stop().then(end, end)
  }

  terminate(): void {
    this.fail(new ConclaveError('NOT_STARTED', 'the session host Worker was terminated'))
  }

  /** The Worker is gone (terminated or dead): reject what waits on it, release it. */
  private fail(error: unknown): void {
    if (this.state === 'gone') return
    const wasRunning = this.state === 'running' || this.state === 'stopping'
    this.state = 'gone'
    this.ops = []
    this.transfers = new TransferList()
    const reason =
      error instanceof Error
        ? error
        : new ConclaveError('NOT_STARTED', `the session host Worker failed: ${String(error)}`)
    for (const reject of this.pending) reject(reason)
    this.pending.clear()
    this.sinkPort?.close()
    if (wasRunning && !(reason instanceof ConclaveError && reason.code === 'NOT_STARTED')) {
      this.report(reason, 'the session host Worker died', 'NOT_STARTED')
    }
    let ended: unknown
    try {
      ended = this.options.terminate?.()
    } catch {
      // already gone
    }
    Promise.resolve(ended).then(this.resolveClosed, this.resolveClosed)
  }
}

/**
 * A session host in a Worker, reached through comlink on `endpoint` (a Web Worker, or
 * `nodeEndpoint(worker)` for worker_threads). The Worker must run {@link exposeSessionHost}.
 * Prefer the platform wrappers: `createBrowserWorkerSessionHost`, `createNodeWorkerSessionHost`.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad config; whatever the Worker's start throws
 *   (e.g. `CRYPTO_UNAVAILABLE`), with its code
 * @example
 * ```ts
 * const host = await createWorkerSessionHost(worker, toWorkerHostConfig({ crypto, identity }), {
 *   terminate: () => worker.terminate(),
 * })
 * const party = createParty({ identity, crypto, transport, host })
 * ```
 */
export async function createWorkerSessionHost(
  endpoint: Endpoint,
  config: WorkerHostConfig,
  options: WorkerSessionHostOptions = {},
): Promise<WorkerSessionHost> {
  checkWorkerHostConfig(config)
  registerErrorTransfer()
  const host = new WorkerSessionHostProxy(endpoint, config, options)
  try {
    await host.start()
  } catch (e) {
    host.terminate()
    throw e
  }
  return host
}
