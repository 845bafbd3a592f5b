/**
 * The Worker side of the session host boundary: {@link exposeSessionHost} runs an in-thread host
 * inside the Worker and exposes it through comlink as a {@link WorkerHostApi}.
 *
 * What the host asks of the connection side (frames to send, links to close or open, events) is
 * collected during a turn and sent as one {@link SinkBatch}, its frames transferred, in a single
 * proxied call: a round trip per frame would cost more than the crypto it carries.
 * @module
 */
import { type Endpoint, expose, type Remote, transfer, wrap } from 'comlink'
import { ConclaveError, errorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { createInThreadSessionHost } from '../session/host.ts'
import type { HostSink, PartyEvent, ProposalInfo, ReceiveOptions, SessionHost } from '../session/types.ts'
import { checkWorkerHostConfig } from './config.ts'
import { registerErrorTransfer } from './errors.ts'
import { TransferList } from './transfer.ts'
import type {
  HostOp,
  HostSnapshot,
  RemoteSink,
  SinkBatch,
  SinkOp,
  WireReceiveOptions,
  WithSnapshot,
  WorkerCryptoFactory,
  WorkerHostApi,
  WorkerHostConfig,
} from './types.ts'

/** A proposal whose params are an exact copy (a view would drag its whole frame across). */
function ownProposal(p: ProposalInfo): ProposalInfo {
  return { ...p, params: p.params.slice(), participants: [...p.participants] }
}

/** The Worker → main queue: one batch per turn, flushed in a microtask. */
class Outbox {
  private ops: SinkOp[] = []
  private transfers = new TransferList()
  private scheduled = false

  constructor(
    private readonly sink: Remote<RemoteSink>,
    private readonly snapshot: () => HostSnapshot,
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

  /** Send what is queued now; resolves when the main side has processed it. */
  flush(): Promise<void> {
    if (this.ops.length === 0) return Promise.resolve()
    const batch: SinkBatch = { ops: this.ops, snapshot: this.snapshot() }
    const buffers = this.transfers.list()
    this.ops = []
    this.transfers = new TransferList()
    return Promise.resolve(this.sink.deliver(transfer(batch, buffers))).catch(() => undefined)
  }
}

/** The object exposed to the main side. */
class WorkerHost implements WorkerHostApi {
  private host: SessionHost | undefined
  private outbox: Outbox | undefined
  private starting = false
  private stopped = false
  private version = 0
  private readonly waits = new Map<string, AbortController>()
  /** Why an `open-session` op failed, for the calls that follow on that session id. */
  private readonly failedOpens = new Map<SessionId, unknown>()

  constructor(private readonly factory: WorkerCryptoFactory) {}

  async start(config: WorkerHostConfig, sinkPort: MessagePort): Promise<HostSnapshot> {
    if (this.starting) throw new ConclaveError('NOT_STARTED', 'this Worker already runs a session host')
    this.starting = true
    checkWorkerHostConfig(config)
    const crypto = await this.factory(config)
    const host = createInThreadSessionHost({
      crypto,
      identity: config.identity,
      ...(config.mode !== undefined ? { mode: config.mode } : {}),
      ...(config.roster !== undefined ? { roster: new Set(config.roster) } : {}),
      ...(config.epoch !== undefined ? { epoch: config.epoch } : {}),
      ...(config.limits !== undefined ? { limits: config.limits } : {}),
    })
    this.host = host
    this.outbox = new Outbox(wrap<RemoteSink>(sinkPort as unknown as Endpoint), () => this.snapshot())
    return this.snapshot()
  }

  private running(): SessionHost {
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

  private result<T>(value: T, transfers?: TransferList): WithSnapshot<T> {
    const out = { value, snapshot: this.snapshot() }
    return transfers && transfers.size > 0 ? transfer(out, transfers.list()) : out
  }

  // ── void calls ──────────────────────────────────────────────────────────────────────

  apply(ops: HostOp[]): void {
    for (const op of ops) {
      try {
        this.applyOne(op)
      } catch (e) {
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
      const failed = this.failedOpens.get(sessionId)
      if (failed !== undefined && errorCode(e) === 'SESSION_UNKNOWN') throw failed
      throw e
    }
  }

  async propose(options: Parameters<SessionHost['propose']>[0]): Promise<WithSnapshot<SessionId>> {
    return this.result(await this.running().propose(options))
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
      return this.result(transfers.own(body), transfers)
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
      return this.result(out, transfers)
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
    if (!this.host || this.stopped) return
    this.stopped = true
    this.host.stop()
    // the host's last words (close records, `closed` events) reach the main side before it ends the Worker
    await this.outbox?.flush()
  }
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
export function exposeSessionHost(endpoint: Endpoint, factory: WorkerCryptoFactory): void {
  registerErrorTransfer()
  const host = new WorkerHost(factory)
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
