/**
 * The Worker side of the session host boundary: {@link exposeSessionHost} runs an in-thread host
 * inside the Worker and exposes it through comlink as a {@link WorkerHostApi}.
 *
 * What the host asks of the connection side (frames to send, links to close or open, events) is
 * collected during a turn and sent as one {@link SinkBatch}, its frames transferred, in a single
 * proxied call: a round trip per frame would cost more than the crypto it carries.
 *
 * With an outbox store that writes asynchronously (IndexedDB), every batch and every result waits
 * until the store has committed the records appended before it: nothing the host promised leaves
 * the Worker before it is journaled, so a crash loses only what no peer and no caller has seen.
 * When the store fails, the host stops (as if it had crashed at the last commit), the batches
 * still waiting go out without their frames, and the party is told with a `drop` event
 * `OUTBOX_UNAVAILABLE`; calls then reject with that error.
 * @module
 */
import { type Endpoint, expose, type Remote, transfer, wrap } from 'comlink'
import { ConclaveError, errorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { createInThreadSessionHost } from '../session/host.ts'
import type { OutboxState } from '../session/outbox.ts'
import type { HostSink, PartyEvent, ProposalInfo, ReceiveOptions, SessionHost } from '../session/types.ts'
import { checkWorkerHostConfig } from './config.ts'
import { registerErrorTransfer } from './errors.ts'
import { TransferList } from './transfer.ts'
import type {
  HostOp,
  HostSnapshot,
  RemoteSink,
  RestoredSession,
  SinkBatch,
  SinkOp,
  WireReceiveOptions,
  WithSnapshot,
  WorkerCryptoFactory,
  WorkerHostApi,
  WorkerHostConfig,
  WorkerHostStarted,
  WorkerOutboxFactory,
  WorkerOutboxStore,
} from './types.ts'

/** A proposal whose params are an exact copy (a view would drag its whole frame across). */
function ownProposal(p: ProposalInfo): ProposalInfo {
  return { ...p, params: p.params.slice(), participants: [...p.participants] }
}

/** The sessions an outbox store holds open, as the main side learns them at start. */
function restoredSessions(state: OutboxState): RestoredSession[] {
  return [...state.sessions.values()].map((s) => ({
    options: {
      id: s.options.id,
      participants: [...s.options.participants],
      ...(s.options.roundTimeoutMs !== undefined ? { roundTimeoutMs: s.options.roundTimeoutMs } : {}),
      ...(s.options.roundTimeouts !== undefined ? { roundTimeouts: { ...s.options.roundTimeouts } } : {}),
    },
    resume: { sent: Object.fromEntries(s.sent), received: Object.fromEntries(s.taken) },
    waiting: s.inbox.map((m) => ({ ...m.key })),
  }))
}

/**
 * The Worker → main queue: one batch per turn, flushed in a microtask. With a `gate` (an outbox
 * store that commits asynchronously) a batch goes once the records appended before it are
 * committed; when the gate fails, it goes without its frames (their records are not kept).
 */
class Outbox {
  private ops: SinkOp[] = []
  private transfers = new TransferList()
  private scheduled = false
  /** Settles when the last batch's gate did (batches keep their order). */
  private gated: Promise<unknown> = Promise.resolve()
  /** Settles when the last batch was processed by the main side. */
  private tail: Promise<void> = Promise.resolve()

  constructor(
    private readonly sink: Remote<RemoteSink>,
    private readonly snapshot: () => HostSnapshot,
    private readonly gate: () => Promise<void> | undefined = () => undefined,
  ) {}

  readonly hostSink: HostSink = {
    sendFrame: (linkId, frame) => this.push({ op: 'send-frame', linkId, frame: this.transfers.own(frame) }),
    closeLink: (linkId, code, reason) => this.push({ op: 'close-link', linkId, code, reason }),
    requestLink: (peer) => this.push({ op: 'request-link', peer }),
    event: (event) => this.event(event),
  }

  event(event: PartyEvent): void {
    this.push({
      op: 'event',
      event: event.type === 'proposal' ? { ...event, proposal: ownProposal(event.proposal) } : event,
    })
  }

  private push(op: SinkOp): void {
    this.ops.push(op)
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      void this.flush()
    })
  }

  /** Send what is queued now; resolves when the main side has processed it (and what came before). */
  flush(): Promise<void> {
    if (this.ops.length === 0) return this.tail
    const ops = this.ops
    const buffers = this.transfers.list()
    this.ops = []
    this.transfers = new TransferList()
    const send = (batch: SinkBatch, list: ArrayBuffer[]): Promise<void> =>
      Promise.resolve(this.sink.deliver(transfer(batch, list))).catch(() => undefined)
    const gate = this.gate()
    if (!gate) {
      this.tail = send({ ops, snapshot: this.snapshot() }, buffers)
      return this.tail
    }
    const ready = this.gated.then(() => gate)
    this.gated = ready.catch(() => undefined)
    this.tail = ready.then(
      () => send({ ops, snapshot: this.snapshot() }, buffers),
      () => send({ ops: ops.filter((op) => op.op !== 'send-frame'), snapshot: this.snapshot() }, []),
    )
    return this.tail
  }
}

/** The object exposed to the main side. */
class WorkerHost implements WorkerHostApi {
  private host: SessionHost | undefined
  private outbox: Outbox | undefined
  private store: WorkerOutboxStore | undefined
  /** Why the outbox store failed: the host stopped, and calls reject with it. */
  private failure: unknown
  private starting = false
  private stopped = false
  private version = 0
  private readonly waits = new Map<string, AbortController>()
  /** Why an `open-session` op failed, for the calls that follow on that session id. */
  private readonly failedOpens = new Map<SessionId, unknown>()

  constructor(
    private readonly factory: WorkerCryptoFactory,
    private readonly outboxFactory: WorkerOutboxFactory | undefined,
  ) {}

  async start(config: WorkerHostConfig, sinkPort: MessagePort): Promise<WorkerHostStarted> {
    if (this.starting) throw new ConclaveError('NOT_STARTED', 'this Worker already runs a session host')
    this.starting = true
    checkWorkerHostConfig(config)
    const crypto = await this.factory(config)
    let store: WorkerOutboxStore | undefined
    if (config.outbox !== undefined) {
      if (!this.outboxFactory)
        throw new ConclaveError('OUTBOX_UNAVAILABLE', 'this Worker was exposed without outbox stores')
      store = await this.outboxFactory(config.outbox)
    }
    let host: SessionHost
    let restored: RestoredSession[] = []
    try {
      if (store) restored = restoredSessions(store.load())
      host = createInThreadSessionHost({
        crypto,
        identity: config.identity,
        ...(config.mode !== undefined ? { mode: config.mode } : {}),
        ...(config.roster !== undefined ? { roster: new Set(config.roster) } : {}),
        ...(config.epoch !== undefined ? { epoch: config.epoch } : {}),
        ...(config.limits !== undefined ? { limits: config.limits } : {}),
        ...(store ? { outbox: store } : {}),
      })
    } catch (e) {
      store?.close()
      throw e
    }
    this.host = host
    this.store = store
    this.outbox = new Outbox(
      wrap<RemoteSink>(sinkPort as unknown as Endpoint),
      () => this.snapshot(),
      () => this.committed(),
    )
    // the `epoch` record of a new store is written before the main side hears of the host
    await this.committed()
    return { snapshot: this.snapshot(), restored }
  }

  /**
   * Resolves once the store has committed what was appended so far (undefined when it writes
   * synchronously, or without a store); rejects with the store's failure, after stopping the host.
   */
  private committed(): Promise<void> | undefined {
    const flushed = this.store?.flush?.()
    return flushed?.catch((e: unknown) => {
      this.storeFailed(e)
      throw this.failure
    })
  }

  /** The outbox store cannot keep records any more: stop the host, as if it crashed at the last commit. */
  private storeFailed(e: unknown): void {
    if (this.failure !== undefined) return
    this.failure =
      e instanceof ConclaveError
        ? e
        : new ConclaveError('OUTBOX_UNAVAILABLE', `the outbox store failed: ${String(e)}`, {}, { cause: e })
    this.outbox?.event({
      type: 'drop',
      code: errorCode(this.failure) ?? 'OUTBOX_UNAVAILABLE',
      reason: `the outbox store failed, the session host stopped: ${(this.failure as Error).message}`,
    })
    if (this.host && !this.stopped) {
      this.stopped = true
      this.host.stop()
    }
  }

  /** A call failed: when the store refused a record (it failed), stop the host. */
  private checkStore(e: unknown): void {
    if (this.store && errorCode(e) === 'OUTBOX_UNAVAILABLE') this.storeFailed(e)
  }

  private running(): SessionHost {
    if (this.failure !== undefined) throw this.failure
    if (!this.host || this.stopped) throw new ConclaveError('NOT_STARTED', 'the session host is not running')
    return this.host
  }

  snapshot(): HostSnapshot {
    const host = this.host
    if (!host) throw new ConclaveError('NOT_STARTED', 'the session host is not started')
    return {
      version: ++this.version,
      peers: host.peers(),
      counters: host.counters(),
      proposals: host.proposals().map(ownProposal),
    }
  }

  /** A call's result, once the records behind it are committed (the snapshot is taken then). */
  private async result<T>(value: T, transfers?: TransferList): Promise<WithSnapshot<T>> {
    const gate = this.committed()
    if (gate) await gate
    const out = { value, snapshot: this.snapshot() }
    return transfers && transfers.size > 0 ? transfer(out, transfers.list()) : out
  }

  // ── void calls ──────────────────────────────────────────────────────────────────────

  apply(ops: HostOp[]): void {
    for (const op of ops) {
      try {
        this.applyOne(op)
      } catch (e) {
        this.checkStore(e)
        this.report(e, op)
      }
    }
  }

  private applyOne(op: HostOp): void {
    const host = this.running()
    switch (op.op) {
      case 'connect':
        host.connect(this.outbox!.hostSink)
        break
      case 'link-opened':
        host.linkOpened(op.info)
        break
      case 'link-frame':
        host.linkFrame(op.linkId, op.frame)
        break
      case 'link-closed':
        host.linkClosed(op.linkId, op.code, op.reason)
        break
      case 'open-session':
        try {
          host.openSession(op.options)
        } catch (e) {
          this.failedOpens.set(op.options.id, e)
          throw e
        }
        break
      case 'close-session':
        host.closeSession(op.sessionId)
        break
    }
  }

  /**
   * A void call failed where the caller could not see it: tell the party through a `drop` event
   * (the session or link it concerns never came to be; nothing claims it opened or closed).
   */
  private report(e: unknown, op: HostOp): void {
    if (!this.outbox) return
    const reason = `${op.op} failed in the session host Worker: ${e instanceof Error ? e.message : String(e)}`
    this.outbox.event({
      type: 'drop',
      code: errorCode(e) ?? 'INVALID_ARGUMENT',
      ...(op.op === 'link-opened' ? { peer: op.info.peer } : {}),
      ...(op.op === 'open-session' ? { sessionId: op.options.id } : {}),
      ...(op.op === 'close-session' ? { sessionId: op.sessionId } : {}),
      reason,
    })
  }

  linkOpened(info: Parameters<SessionHost['linkOpened']>[0]): void {
    this.apply([{ op: 'link-opened', info }])
  }

  linkFrame(linkId: string, frame: Uint8Array): void {
    this.apply([{ op: 'link-frame', linkId, frame }])
  }

  linkClosed(linkId: string, code: Parameters<SessionHost['linkClosed']>[1], reason: string): void {
    this.apply([{ op: 'link-closed', linkId, code, reason }])
  }

  openSession(options: Parameters<SessionHost['openSession']>[0]): void {
    this.apply([{ op: 'open-session', options }])
  }

  closeSession(sessionId: SessionId): void {
    this.apply([{ op: 'close-session', sessionId }])
  }

  // ── calls with results ──────────────────────────────────────────────────────────────

  /** Run `fn`; a SESSION_UNKNOWN for a session whose opening failed here becomes that failure. */
  private async guard<T>(sessionId: SessionId, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      this.checkStore(e)
      const failed = this.failedOpens.get(sessionId)
      if (failed !== undefined && errorCode(e) === 'SESSION_UNKNOWN') throw failed
      throw e
    }
  }

  async propose(options: Parameters<SessionHost['propose']>[0]): Promise<WithSnapshot<SessionId>> {
    const host = this.running()
    let id: SessionId
    try {
      id = await host.propose(options)
    } catch (e) {
      this.checkStore(e)
      throw e
    }
    return this.result(id)
  }

  async send(
    sessionId: SessionId,
    to: PartyId,
    round: number,
    body: Uint8Array,
    kind?: string,
  ): Promise<WithSnapshot<void>> {
    const host = this.running()
    await this.guard(sessionId, () => host.send(sessionId, to, round, body, kind))
    return this.result(undefined)
  }

  async broadcast(
    sessionId: SessionId,
    round: number,
    body: Uint8Array,
    kind?: string,
  ): Promise<WithSnapshot<void>> {
    const host = this.running()
    await this.guard(sessionId, () => host.broadcast(sessionId, round, body, kind))
    return this.result(undefined)
  }

  /** The ReceiveOptions of a wire call, with a signal that `cancel(waitId)` aborts. */
  private receiveOptions(
    options: WireReceiveOptions | undefined,
    waitId: string | undefined,
  ): ReceiveOptions {
    const out: ReceiveOptions = {}
    if (options?.kind !== undefined) out.kind = options.kind
    if (options?.broadcast !== undefined) out.broadcast = options.broadcast
    if (options?.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs
    if (waitId !== undefined) {
      const controller = new AbortController()
      if (options?.aborted) controller.abort()
      this.waits.set(waitId, controller)
      out.signal = controller.signal
    }
    return out
  }

  async receive(
    sessionId: SessionId,
    from: PartyId,
    round: number,
    options?: WireReceiveOptions,
    waitId?: string,
  ): Promise<WithSnapshot<Uint8Array>> {
    const host = this.running()
    const opts = this.receiveOptions(options, waitId)
    try {
      const body = await this.guard(sessionId, () => host.receive(sessionId, from, round, opts))
      const transfers = new TransferList()
      return await this.result(transfers.own(body), transfers)
    } finally {
      if (waitId !== undefined) this.waits.delete(waitId)
    }
  }

  async collect(
    sessionId: SessionId,
    round: number,
    options?: WireReceiveOptions,
    waitId?: string,
  ): Promise<WithSnapshot<Map<PartyId, Uint8Array>>> {
    const host = this.running()
    const opts = this.receiveOptions(options, waitId)
    try {
      const got = await this.guard(sessionId, () => host.collect(sessionId, round, opts))
      const transfers = new TransferList()
      const out = new Map<PartyId, Uint8Array>()
      for (const [from, body] of got) out.set(from, transfers.own(body))
      return await this.result(out, transfers)
    } finally {
      if (waitId !== undefined) this.waits.delete(waitId)
    }
  }

  cancel(waitId: string): void {
    this.waits.get(waitId)?.abort()
  }

  async abort(sessionId: SessionId, reason: string): Promise<WithSnapshot<void>> {
    const host = this.running()
    await this.guard(sessionId, () => host.abort(sessionId, reason))
    return this.result(undefined)
  }

  async started(sessionId: SessionId, timeoutMs?: number): Promise<WithSnapshot<void>> {
    const host = this.running()
    await this.guard(sessionId, () => host.started!(sessionId, timeoutMs !== undefined ? { timeoutMs } : {}))
    return this.result(undefined)
  }

  async stop(): Promise<void> {
    if (!this.host) return
    if (!this.stopped) {
      this.stopped = true
      this.host.stop()
    }
    // the host's last words (close records, `closed` events) reach the main side before it ends the Worker
    await this.outbox?.flush()
  }
}

/** Options of {@link exposeSessionHost}. */
export interface ExposeSessionHostOptions {
  /**
   * Opens the outbox store a config names (`workerOutbox({ indexedDb })` in a browser Worker).
   * @default none: a config with `outbox` fails to start with OUTBOX_UNAVAILABLE
   */
  outbox?: WorkerOutboxFactory
}

/**
 * Expose a session host on `endpoint` (in a Worker: `self`, or comlink's `nodeEndpoint(parentPort)`).
 * The main side starts it with `createWorkerSessionHost(…)`. The backend is built inside the
 * Worker by `factory`, from the names in the config.
 *
 * @example
 * ```ts
 * // my-host.worker.ts
 * exposeSessionHost(self as unknown as Endpoint, workerCrypto({ noble: nobleAead }))
 * ```
 */
export function exposeSessionHost(
  endpoint: Endpoint,
  factory: WorkerCryptoFactory,
  options: ExposeSessionHostOptions = {},
): void {
  registerErrorTransfer()
  const host = new WorkerHost(factory, options.outbox)
  // expose a plain object: comlink resolves any property path, so the host's internals stay out of reach
  const api: WorkerHostApi = {
    start: (config, sinkPort) => host.start(config, sinkPort),
    apply: (ops) => host.apply(ops),
    linkOpened: (info) => host.linkOpened(info),
    linkFrame: (linkId, frame) => host.linkFrame(linkId, frame),
    linkClosed: (linkId, code, reason) => host.linkClosed(linkId, code, reason),
    openSession: (options) => host.openSession(options),
    closeSession: (sessionId) => host.closeSession(sessionId),
    propose: (options) => host.propose(options),
    send: (sessionId, to, round, body, kind) => host.send(sessionId, to, round, body, kind),
    broadcast: (sessionId, round, body, kind) => host.broadcast(sessionId, round, body, kind),
    receive: (sessionId, from, round, options, waitId) =>
      host.receive(sessionId, from, round, options, waitId),
    collect: (sessionId, round, options, waitId) => host.collect(sessionId, round, options, waitId),
    cancel: (waitId) => host.cancel(waitId),
    abort: (sessionId, reason) => host.abort(sessionId, reason),
    started: (sessionId, timeoutMs) => host.started(sessionId, timeoutMs),
    snapshot: () => host.snapshot(),
    stop: () => host.stop(),
  }
  expose(api, endpoint)
}
