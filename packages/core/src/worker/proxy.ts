/**
 * The main-thread side of the session host boundary: {@link createWorkerSessionHost} returns a
 * `SessionHost` (so `createParty({ host })` works unchanged) whose work runs in a Worker. Its
 * methods are made from the op table (`ops.ts`), one per entry, so this file names none of them.
 *
 * How the synchronous methods of `SessionHost` stay synchronous:
 * - The void methods (`via: 'turn'`: links, frames, sessions opened and closed) are queued and
 *   sent as one batch per turn (frames transferred). Any call with a result first sends the
 *   queue, so the Worker sees every call in the caller's order (comlink keeps order on one
 *   endpoint).
 * - `openSession` checks on this side what makes it throw (a session id opened before, the
 *   participants): the same `SESSION_EXISTS` / `INVALID_ARGUMENT` the in-thread host throws. A
 *   failure only the Worker can see becomes a `drop` event, and the calls that follow on that
 *   session reject with the original error.
 * - `peers()`, `counters()` and `proposals()` (`via: 'main'`) answer from a snapshot the Worker
 *   sends with every batch and every result: after `await receive(…)` the counters include that
 *   message; frames still queued in this turn are not counted yet.
 * - `resumeOf()` answers from what the Worker's outbox store held at start (`restored()`), once
 *   the session was reopened through this host.
 * @module
 */
import { type Endpoint, expose, type Remote, transfer, wrap } from 'comlink'
import { type CounterSnapshot, emptyCounterSnapshot } from '../counters.ts'
import { ConclaveError, type ErrorCode, errorCode } from '../errors.ts'
import { type PartyId, partyIdFromBytes, type SessionId } from '../ids.ts'
import { EndedSessions } from '../session/ended-sessions.ts'
import { type Limits, resolveLimits } from '../session/limits.ts'
import type {
  HostSink,
  PeerInfo,
  ProposalInfo,
  ReceiveOptions,
  SessionHost,
  SessionResume,
} from '../session/types.ts'
import { checkWorkerHostConfig } from './config.ts'
import { registerErrorTransfer } from './errors.ts'
import {
  type AnyHostOp,
  HOST_OPS,
  type HostMethod,
  hasOp,
  type MainMethods,
  type MainSide,
  ownProposal,
  SINK_OPS,
  withoutSignal,
} from './ops.ts'
import { TransferList } from './transfer.ts'
import { TurnBatch } from './turn.ts'
import type {
  HostCall,
  HostSnapshot,
  RemoteSink,
  RestoredSession,
  SinkBatch,
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

/** A method called by name, with arguments its op table entry checked. */
type AnyMethod = (...args: unknown[]) => unknown

/** The methods this side answers itself (the op table's `via: 'main'`), and the Worker's lifecycle. */
type ProxySide = Pick<
  WorkerSessionHost,
  MainMethods<typeof HOST_OPS> | 'self' | 'open' | 'closed' | 'terminate' | 'restored'
>

class WorkerSessionHostProxy implements MainSide, ProxySide {
  readonly self: PartyId
  readonly open: boolean
  readonly closed: Promise<void>
  readonly limits: Limits
  /** The session ids opened through this host, bounded (see `MainSide.opened`). */
  readonly opened: EndedSessions
  private readonly remote: Remote<WorkerHostApi>
  private state: 'starting' | 'running' | 'stopping' | 'gone' = 'starting'
  private sink: HostSink | undefined
  private readonly batch: TurnBatch
  private snap: HostSnapshot = { version: 0, peers: [], counters: emptyCounterSnapshot(), proposals: [] }
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
    this.open = config.roster === undefined
    this.limits = resolveLimits(config.limits)
    this.opened = new EndedSessions(Date.now, 2 * this.limits.skewMs)
    this.remote = wrap<WorkerHostApi>(endpoint)
    this.batch = new TurnBatch((calls, buffers) => {
      if (this.state === 'gone') return
      this.remote.apply(transfer(calls, buffers)).catch((e: unknown) => this.report(e, 'apply failed'))
    })
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

  /** The sink the host reports to (from `connect`, through the op table). */
  connect(sink: HostSink): void {
    this.sink = sink
  }

  // ── Worker → main ───────────────────────────────────────────────────────────────────

  private deliver(batch: SinkBatch): void {
    if (this.state === 'gone') return
    this.applySnapshot(batch.snapshot)
    const sink = this.sink
    if (!sink) return
    for (const op of batch.ops) {
      try {
        if (!hasOp(SINK_OPS, op.method)) throw new ConclaveError('INVALID_ARGUMENT', 'not a sink call')
        ;(sink[op.method] as AnyMethod).apply(sink, op.args)
      } catch (e) {
        this.report(e, `${String(op.method)} failed on the main thread`)
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

  /** A void method: its arguments, as its op makes them, join this turn's batch. */
  turn(method: HostMethod, args: unknown[]): void {
    const spec = HOST_OPS[method] as AnyHostOp
    if (this.state !== 'running') {
      if (spec.strict) throw stoppedError()
      return
    }
    this.batch.push({ method, args: spec.out ? spec.out(args, this.batch.transfers, this) : args })
  }

  /** A method with a result: the queue goes first, the snapshot that comes back is applied. */
  call(method: HostMethod, args: unknown[]): Promise<unknown> {
    if (this.state !== 'running') return Promise.reject(stoppedError())
    const spec = HOST_OPS[method] as AnyHostOp
    const t = new TransferList()
    let wire: unknown[]
    try {
      wire = spec.out ? spec.out(args, t, this) : [...args]
    } catch (e) {
      return Promise.reject(e)
    }
    let signal: AbortSignal | undefined
    if (spec.signal !== undefined) {
      const options = args[spec.signal] as ReceiveOptions | undefined
      signal = options?.signal
      wire[spec.signal] = withoutSignal(options)
    }
    const call: HostCall = { method, args: wire, ...(signal?.aborted ? { aborted: true } : {}) }
    const send = (waitId: string | undefined): Promise<unknown> => {
      this.batch.flush()
      const out = waitId !== undefined ? { ...call, waitId } : call
      return this.track(this.remote.call(transfer(out, t.list()))).then((r: WithSnapshot<unknown>) => {
        this.applySnapshot(r.snapshot)
        spec.done?.(r.value, this)
        return r.value
      })
    }
    if (!signal || signal.aborted) return send(signal ? `w${++this.waitSeq}` : undefined)
    // a signal cannot cross: it becomes a waitId that `cancel` aborts in the Worker
    const waitId = `w${++this.waitSeq}`
    const onAbort = (): void => {
      if (this.state !== 'running' && this.state !== 'stopping') return
      this.batch.flush()
      this.remote.cancel(waitId).catch(() => undefined)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    const result = send(waitId)
    const off = (): void => signal.removeEventListener('abort', onAbort)
    result.then(off, off)
    return result
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

  // ── answered here ───────────────────────────────────────────────────────────────────

  proposals(): ProposalInfo[] {
    const cutoff = Date.now() - this.limits.unknownSessionHoldMs
    return this.snap.proposals
      .filter((p) => p.receivedAt >= cutoff && !this.opened.has(p.sessionId))
      .map(ownProposal)
  }

  peers(): PeerInfo[] {
    return this.snap.peers.map((p) => ({ ...p }))
  }

  counters(): CounterSnapshot {
    return structuredClone(this.snap.counters)
  }

  restored(): RestoredSession[] {
    return structuredClone(this.restoredList)
  }

  resumeOf(sessionId: SessionId): SessionResume | undefined {
    if (!this.opened.has(sessionId)) return undefined
    const r = this.restoredList.find((x) => x.options.id === sessionId)
    return r ? structuredClone(r.resume) : undefined
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
    this.batch.flush()
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
    this.batch.clear()
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
 * The `WorkerSessionHost` of `proxy`: one method per entry of the op table (queued, called, or
 * answered by the proxy), and the Worker's lifecycle.
 */
function hostOf(proxy: WorkerSessionHostProxy): WorkerSessionHost {
  const local: ProxySide = proxy
  const host: Record<string, unknown> = {
    self: local.self,
    open: local.open,
    closed: local.closed,
    terminate: () => local.terminate(),
    restored: () => local.restored(),
  }
  for (const [method, spec] of Object.entries(HOST_OPS) as [HostMethod, AnyHostOp][]) {
    host[method] =
      spec.via === 'turn'
        ? (...args: unknown[]) => proxy.turn(method, args)
        : spec.via === 'call'
          ? (...args: unknown[]) => proxy.call(method, args)
          : (...args: unknown[]) =>
              ((local as unknown as Record<string, AnyMethod>)[method] as AnyMethod).apply(proxy, args)
  }
  return host as unknown as WorkerSessionHost
}

/**
 * A session host in a Worker, reached through comlink on `endpoint` (a Web Worker, or
 * `nodeEndpoint(worker)` for worker_threads). The Worker must run {@link exposeSessionHost}.
 * Prefer the platform wrappers: `createBrowserWorkerSessionHost`, `createNodeWorkerSessionHost`.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` (`LIMIT_INCONSISTENT` for limits) for a bad config;
 *   whatever the Worker's start throws (e.g. `CRYPTO_UNAVAILABLE`), with its code. Either way
 *   `options.terminate` is called first.
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
  try {
    checkWorkerHostConfig(config)
  } catch (e) {
    // the endpoint is let go on a refused config as on a failed start (its Worker would be left running)
    options.terminate?.()
    throw e
  }
  registerErrorTransfer()
  const proxy = new WorkerSessionHostProxy(endpoint, config, options)
  try {
    await proxy.start()
  } catch (e) {
    proxy.terminate()
    throw e
  }
  return hostOf(proxy)
}
