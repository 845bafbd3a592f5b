/**
 * The Worker side of the session host boundary: {@link exposeSessionHost} runs an in-thread host
 * inside the Worker and exposes it through comlink as a {@link WorkerHostApi}. The calls that
 * arrive name a `SessionHost` method and are dispatched as its op table entry says (`ops.ts`);
 * this file names none of them.
 *
 * What the host asks of the connection side (frames to send, links to close or open, events) is
 * collected during a turn ({@link TurnBatch}) and sent as one `SinkBatch`, its frames transferred,
 * in a single proxied call: a round trip per frame would cost more than the crypto it carries.
 *
 * With an outbox store that writes asynchronously (IndexedDB), every batch and every result waits
 * until the store has committed the records appended before it: nothing the host promised leaves
 * the Worker before it is journaled, so a crash loses only what no peer and no caller has seen.
 * When the store fails, the host stops (as if it had crashed at the last commit), the batches
 * still waiting go out without their frames, and the party is told with a `drop` event
 * `OUTBOX_UNAVAILABLE`; calls then reject with that error.
 * @module
 */
import { type Endpoint, expose, transfer, wrap } from 'comlink'
import type { NextTurn } from '../channel/next-turn.ts'
import { ConclaveError, errorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { GrantStore } from '../session/grants.ts'
import { createInThreadSessionHost } from '../session/host.ts'
import type { OutboxState } from '../session/outbox.ts'
import type { HostSink, SessionHost } from '../session/types.ts'
import { checkWorkerHostConfig, hostConfigInWorker } from './config.ts'
import { registerErrorTransfer } from './errors.ts'
import { type AnyHostOp, type HostMethod, hostOp, ownProposal, SINK_OPS } from './ops.ts'
import { TransferList } from './transfer.ts'
import { TurnBatch } from './turn.ts'
import type {
  BridgeCall,
  HostCall,
  HostSnapshot,
  RemoteSink,
  RestoredSession,
  WithSnapshot,
  WorkerCryptoFactory,
  WorkerGrantStoreFactory,
  WorkerHostApi,
  WorkerHostConfig,
  WorkerHostStarted,
  WorkerOutboxFactory,
  WorkerOutboxStore,
} from './types.ts'

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

/** How many failed openings the Worker remembers (a call on one rejects with why it failed). */
const FAILED_OPENS_KEPT = 100

/** A host method, called by name with the arguments its op table entry prepared. */
type AnyMethod = (...args: unknown[]) => unknown

/** The object exposed to the main side. */
class WorkerHost implements WorkerHostApi {
  private host: SessionHost | undefined
  private batch: TurnBatch | undefined
  /** The host's sink: its calls go to the main side in the turn's batch. */
  private sink: HostSink | undefined
  private store: WorkerOutboxStore | undefined
  /** Why the outbox store failed: the host stopped, and calls reject with it. */
  private failure: unknown
  private starting = false
  private stopped = false
  private version = 0
  /** Settles when the last batch's gate did (batches keep their order). */
  private gated: Promise<unknown> = Promise.resolve()
  /** Settles when the last batch was processed by the main side. */
  private tail: Promise<void> = Promise.resolve()
  private readonly waits = new Map<string, AbortController>()
  /** Why an opening call failed, for the calls that follow on that session id (the newest few). */
  private readonly failedOpens = new Map<SessionId, unknown>()

  constructor(
    private readonly factory: WorkerCryptoFactory,
    private readonly options: ExposeSessionHostOptions,
  ) {}

  async start(config: WorkerHostConfig, sinkPort: MessagePort): Promise<WorkerHostStarted> {
    if (this.starting) throw new ConclaveError('NOT_STARTED', 'this Worker already runs a session host')
    this.starting = true
    checkWorkerHostConfig(config)
    const crypto = await this.factory(config)
    let grantStore: GrantStore | undefined
    if (config.grantStore !== undefined) {
      if (!this.options.grantStore)
        throw new ConclaveError('INVALID_ARGUMENT', 'this Worker was exposed without grant stores')
      grantStore = await this.options.grantStore(config.grantStore)
    }
    let store: WorkerOutboxStore | undefined
    if (config.outbox !== undefined) {
      if (!this.options.outbox)
        throw new ConclaveError('OUTBOX_UNAVAILABLE', 'this Worker was exposed without outbox stores')
      store = await this.options.outbox(config.outbox)
    }
    let host: SessionHost
    let restored: RestoredSession[] = []
    try {
      if (store) restored = restoredSessions(store.load())
      host = createInThreadSessionHost(
        hostConfigInWorker(config, {
          crypto,
          grantStore,
          outbox: store,
          ...(this.options.nextTurn ? { nextTurn: this.options.nextTurn } : {}),
        }),
      )
    } catch (e) {
      store?.close()
      throw e
    }
    this.host = host
    this.store = store
    const remote = wrap<RemoteSink>(sinkPort as unknown as Endpoint)
    const batch = new TurnBatch((ops, buffers) => this.send(remote, ops, buffers))
    this.batch = batch
    this.sink = sinkOf(batch)
    // the `epoch` record of a new store is written before the main side hears of the host
    await this.committed()
    return { snapshot: this.snapshot(), restored }
  }

  /**
   * Send one turn's sink calls. With a store that commits asynchronously, the batch waits until
   * the records appended before it are committed; when that fails, it goes without its frames
   * (their records are not kept).
   */
  private send(remote: RemoteSink, ops: BridgeCall[], buffers: ArrayBuffer[]): void {
    const deliver = (calls: BridgeCall[], list: ArrayBuffer[]): Promise<void> =>
      Promise.resolve(remote.deliver(transfer({ ops: calls, snapshot: this.snapshot() }, list))).catch(
        () => undefined,
      )
    const gate = this.committed()
    if (!gate) {
      this.tail = deliver(ops, buffers)
      return
    }
    const ready = this.gated.then(() => gate)
    this.gated = ready.catch(() => undefined)
    this.tail = ready.then(
      () => deliver(ops, buffers),
      () =>
        deliver(
          ops.filter((op) => op.method !== 'sendFrame'),
          [],
        ),
    )
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
    this.sink?.event({
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

  /** Call `method` on the host with the arguments as its op's `in` hook makes them. */
  private invoke(host: SessionHost, method: string, op: AnyHostOp, args: unknown[]): unknown {
    const inArgs = op.in ? op.in(args, { sink: this.sink! }) : args
    return (host[method as HostMethod] as AnyMethod).apply(host, inArgs)
  }

  apply(calls: BridgeCall[]): void {
    for (const call of calls) {
      const op = hostOp(call.method)
      try {
        if (op?.via !== 'turn')
          throw new ConclaveError('INVALID_ARGUMENT', `${call.method} is not a queued call`)
        this.invoke(this.running(), call.method, op, call.args)
      } catch (e) {
        const sessionId = op?.session?.(call.args)
        if (op?.opens && sessionId !== undefined) this.failedOpen(sessionId, e)
        this.checkStore(e)
        this.report(e, call, sessionId, op?.peer?.(call.args))
      }
    }
  }

  /**
   * A void call failed where the caller could not see it: tell the party through a `drop` event
   * (the session or link it concerns never came to be; nothing claims it opened or closed).
   */
  private report(
    e: unknown,
    call: BridgeCall,
    sessionId: SessionId | undefined,
    peer: PartyId | undefined,
  ): void {
    this.sink?.event({
      type: 'drop',
      code: errorCode(e) ?? 'INVALID_ARGUMENT',
      ...(peer !== undefined ? { peer } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      reason: `${call.method} failed in the session host Worker: ${e instanceof Error ? e.message : String(e)}`,
    })
  }

  /** Keep why opening `sessionId` failed: the newest {@link FAILED_OPENS_KEPT}, stacks formatted. */
  private failedOpen(sessionId: SessionId, e: unknown): void {
    if (e instanceof Error) void e.stack // an unformatted stack keeps its frames' objects alive
    this.failedOpens.delete(sessionId)
    this.failedOpens.set(sessionId, e)
    for (const oldest of this.failedOpens.keys()) {
      if (this.failedOpens.size <= FAILED_OPENS_KEPT) break
      this.failedOpens.delete(oldest)
    }
  }

  async call(call: HostCall): Promise<WithSnapshot<unknown>> {
    const op = hostOp(call.method)
    if (op?.via !== 'call')
      throw new ConclaveError('INVALID_ARGUMENT', `${call.method} is not a call of the session host`)
    const host = this.running()
    const args = [...call.args]
    if (op.signal !== undefined && call.waitId !== undefined) {
      // the caller's AbortSignal, rebuilt on this side: `cancel(waitId)` aborts it
      const controller = new AbortController()
      if (call.aborted) controller.abort()
      this.waits.set(call.waitId, controller)
      args[op.signal] = { ...(args[op.signal] as object), signal: controller.signal }
    }
    const sessionId = op.session?.(args)
    let value: unknown
    try {
      value = await this.invoke(host, call.method, op, args)
    } catch (e) {
      this.checkStore(e)
      const failed = sessionId !== undefined ? this.failedOpens.get(sessionId) : undefined
      if (failed !== undefined && errorCode(e) === 'SESSION_UNKNOWN') throw failed
      throw e
    } finally {
      if (call.waitId !== undefined) this.waits.delete(call.waitId)
    }
    const transfers = new TransferList()
    return this.result(op.back ? op.back(value, transfers) : value, transfers)
  }

  /** A call's result, once the records behind it are committed (the snapshot is taken then). */
  private async result<T>(value: T, transfers: TransferList): Promise<WithSnapshot<T>> {
    const gate = this.committed()
    if (gate) await gate
    const out = { value, snapshot: this.snapshot() }
    return transfers.size > 0 ? transfer(out, transfers.list()) : out
  }

  cancel(waitId: string): void {
    this.waits.get(waitId)?.abort()
  }

  async stop(): Promise<void> {
    if (!this.host) return
    if (!this.stopped) {
      this.stopped = true
      this.host.stop()
    }
    // the host's last words (close records, `closed` events) reach the main side before it ends the Worker
    this.batch?.flush()
    await this.tail
  }
}

/** The host's sink inside the Worker: each call, as its op table entry makes it, into the turn's batch. */
function sinkOf(batch: TurnBatch): HostSink {
  const sink: Partial<Record<keyof HostSink, AnyMethod>> = {}
  for (const method of Object.keys(SINK_OPS) as (keyof HostSink)[]) {
    const spec: { out?: (args: never, t: TransferList) => unknown[] } = SINK_OPS[method]
    sink[method] = (...args: unknown[]) =>
      batch.push({ method, args: spec.out ? spec.out(args as never, batch.transfers) : args })
  }
  return sink as HostSink
}

/** Options of {@link exposeSessionHost}. */
export interface ExposeSessionHostOptions {
  /**
   * Opens the outbox store a config names (`workerOutbox({ indexedDb })` in a browser Worker).
   * @default none: a config with `outbox` fails to start with OUTBOX_UNAVAILABLE
   */
  outbox?: WorkerOutboxFactory
  /**
   * Opens the grant store a config names (`workerGrantStore({ file })` in a Node Worker).
   * @default none: a config with `grantStore` fails to start with INVALID_ARGUMENT
   */
  grantStore?: WorkerGrantStoreFactory
  /**
   * The next turn of the Worker's event loop, on which a turn's records share frames (Node:
   * `setImmediateTurn`). @default a MessageChannel turn
   */
  nextTurn?: NextTurn
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
  const host = new WorkerHost(factory, options)
  // expose a plain object: comlink resolves any property path, so the host's internals stay out of reach
  const api: WorkerHostApi = {
    start: (config, sinkPort) => host.start(config, sinkPort),
    apply: (calls) => host.apply(calls),
    call: (call) => host.call(call),
    cancel: (waitId) => host.cancel(waitId),
    snapshot: () => host.snapshot(),
    stop: () => host.stop(),
  }
  expose(api, endpoint)
}
