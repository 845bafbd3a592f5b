/**
 * The op tables of the Worker bridge: how each method of the `SessionHost` seam (main → Worker)
 * and of `HostSink` (Worker → main) crosses the boundary. Both sides are built from these tables
 * (`proxy.ts` makes the main side's methods, `expose.ts` dispatches them in the Worker), and each
 * table is typed against its seam: a method added to `SessionHost` or `HostSink` without an entry
 * here does not compile (see {@link HostOpTable}).
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { EndedSessions } from '../session/ended-sessions.ts'
import type { Limits } from '../session/limits.ts'
import { SessionState } from '../session/session-state.ts'
import type {
  HostSink,
  LinkInfo,
  ProposalInfo,
  ProposeOptions,
  ReceiveOptions,
  SessionHost,
  SessionOptions,
} from '../session/types.ts'
import type { TransferList } from './transfer.ts'

/** The methods of `T` (its properties, such as `SessionHost.open`, are answered by the proxy itself). */
type Method<T> = {
  [K in Extract<keyof T, string>]-?: T[K] extends (...args: never[]) => unknown ? K : never
}[Extract<keyof T, string>]
/** The arguments of method `K` of `T`. */
export type ArgsOf<T, K extends keyof T> = T[K] extends (...args: infer A) => unknown ? A : never
/** What method `K` of `T` resolves to. */
export type ResultOf<T, K extends keyof T> = T[K] extends (...args: never[]) => infer R ? Awaited<R> : never

/** What the main side's hooks see of the proxy. */
export interface MainSide {
  readonly self: PartyId
  readonly limits: Limits
  /**
   * The session ids opened through this host (ids are never reused): a bounded set, as the
   * host's own (`ended-sessions.ts`), so a long-running party does not grow by one per session.
   */
  readonly opened: Pick<EndedSessions, 'has' | 'add'>
  /** Keep the sink the host reports to: it stays on the main side. */
  connect(sink: HostSink): void
}

/** What the Worker side's hooks see. */
export interface WorkerSide {
  /** The sink whose calls go to the main side, one batch per turn. */
  readonly sink: HostSink
}

interface CrossingOp<T, K extends keyof T> {
  /**
   * Main side, before the call leaves: the checks that must throw to the caller, and the
   * arguments as they cross, plain data whose byte arrays are owned or copied into `t`.
   * @default the arguments as they are
   */
  out?(args: ArgsOf<T, K>, t: TransferList, main: MainSide): unknown[]
  /** Worker side: the arguments the host gets. @default as they arrived */
  in?(args: unknown[], worker: WorkerSide): ArgsOf<T, K>
  /** The session the call concerns: a failure of a void call names it in its `drop` event. */
  session?(args: ArgsOf<T, K>): SessionId
}

/**
 * A void method, queued and sent with the others of its turn ({@link TurnBatch}). A failure in
 * the Worker becomes a `drop` event (the caller has returned).
 */
export interface TurnOp<T, K extends keyof T> extends CrossingOp<T, K> {
  via: 'turn'
  /** Throw `NOT_STARTED` once the host stopped (the others are then ignored). */
  strict?: true
  /**
   * It opens the session `session(args)` names: when that fails in the Worker, the calls that
   * follow on that session reject with the failure rather than `SESSION_UNKNOWN`.
   */
  opens?: true
  /** The peer the call concerns, named in its `drop` event. */
  peer?(args: ArgsOf<T, K>): PartyId
}

/** A method with a result: sent at once (after the queued turn), its promise settles with it. */
export interface CallOp<T, K extends keyof T> extends CrossingOp<T, K> {
  via: 'call'
  /** Index of the options argument whose `signal` (which cannot cross) becomes a `waitId`. */
  signal?: number
  /** Worker side: the result as it crosses, byte arrays owned into `t`. @default as it is */
  back?(value: ResultOf<T, K>, t: TransferList): ResultOf<T, K>
  /** Main side, once the result arrived. */
  done?(value: ResultOf<T, K>, main: MainSide): void
}

/** A method the main side answers itself (from the Worker's snapshot, or lifecycle). */
export interface MainOp {
  via: 'main'
}

/**
 * How method `K` of `T` may cross: a method with a promise is a call, a void method a turn op,
 * and one with a synchronous result can only be answered on the main side.
 */
export type OpSpec<T, K extends keyof T> = ReturnType<
  Extract<T[K], (...args: never[]) => unknown>
> extends Promise<unknown>
  ? CallOp<T, K> | MainOp
  : ReturnType<Extract<T[K], (...args: never[]) => unknown>> extends void
    ? TurnOp<T, K> | MainOp
    : MainOp

/** One entry for every method of the host seam `T`, none optional. */
export type HostOpTable<T = SessionHost> = { [K in Method<T>]-?: OpSpec<T, K> }

/** The methods of `T` that its table answers on the main side. */
export type MainMethods<Table> = { [K in keyof Table]: Table[K] extends MainOp ? K : never }[keyof Table]

/** Only the fields of SessionOptions, cloneable. */
function ownSessionOptions(o: SessionOptions): SessionOptions {
  return {
    id: o.id,
    participants: [...o.participants],
    ...(o.roundTimeoutMs !== undefined ? { roundTimeoutMs: o.roundTimeoutMs } : {}),
    ...(o.roundTimeouts !== undefined ? { roundTimeouts: { ...o.roundTimeouts } } : {}),
  }
}

function ownLinkInfo(info: LinkInfo): LinkInfo {
  return {
    linkId: info.linkId,
    peer: info.peer,
    initiator: info.initiator,
    kind: info.kind,
    maxFrameSize: info.maxFrameSize,
    fingerprints: info.fingerprints
      ? { local: [...info.fingerprints.local], remote: [...info.fingerprints.remote] }
      : undefined,
  }
}

/** A proposal whose params are an exact copy (a view would drag its whole frame across). */
export function ownProposal(p: ProposalInfo): ProposalInfo {
  return { ...p, params: p.params.slice(), participants: [...p.participants] }
}

function body(b: Uint8Array, t: TransferList): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new ConclaveError('INVALID_ARGUMENT', '"body" expected Uint8Array')
  return t.copy(b)
}

const bySession = <A extends [SessionId, ...unknown[]]>(args: A): SessionId => args[0]

/** How each `SessionHost` method crosses. */
export const HOST_OPS = {
  connect: {
    via: 'turn',
    // the sink stays on this side; the Worker's host reports to the Worker's batching sink
    out: ([sink], _t, main) => {
      main.connect(sink)
      return []
    },
    in: (_args, worker) => [worker.sink],
  },
  linkOpened: { via: 'turn', out: ([info]) => [ownLinkInfo(info)], peer: ([info]) => info.peer },
  /** Takes ownership of the frame: when it spans its buffer exactly, that buffer is transferred. */
  linkFrame: { via: 'turn', out: ([linkId, frame], t) => [linkId, t.own(frame)] },
  linkClosed: { via: 'turn' },
  openSession: {
    via: 'turn',
    strict: true,
    opens: true,
    session: ([o]) => o.id,
    out: ([options], _t, main) => {
      if (main.opened.has(options.id)) {
        throw new ConclaveError(
          'SESSION_EXISTS',
          `session ${options.id.slice(0, 16)}… was already opened by this party`,
        )
      }
      // the in-thread host's own checks, run here so that they throw to the caller
      new SessionState(options, main.self, main.limits, 0)
      main.opened.add(options.id)
      return [ownSessionOptions(options)]
    },
  },
  closeSession: { via: 'turn', session: bySession },
  propose: {
    via: 'call',
    out: ([options], t) => {
      const { params, grant, nonce, participants, roundTimeouts, ...rest } = options
      const wire: ProposeOptions = {
        ...rest,
        participants: [...participants],
        ...(params !== undefined ? { params: t.copy(params) } : {}),
        ...(grant !== undefined ? { grant: t.copy(grant) } : {}),
        ...(nonce !== undefined ? { nonce: t.copy(nonce) } : {}),
        ...(roundTimeouts !== undefined ? { roundTimeouts: { ...roundTimeouts } } : {}),
      }
      return [wire]
    },
    done: (id, main) => {
      main.opened.add(id)
    },
  },
  send: {
    via: 'call',
    session: bySession,
    out: ([sessionId, to, round, b, kind], t) => [sessionId, to, round, body(b, t), kind],
  },
  broadcast: {
    via: 'call',
    session: bySession,
    out: ([sessionId, round, b, kind], t) => [sessionId, round, body(b, t), kind],
  },
  receive: { via: 'call', session: bySession, signal: 3, back: (b, t) => t.own(b) },
  collect: {
    via: 'call',
    session: bySession,
    signal: 2,
    back: (got, t) => new Map([...got].map(([from, b]) => [from, t.own(b)])),
  },
  abort: { via: 'call', session: bySession, out: ([sessionId, reason]) => [sessionId, String(reason)] },
  started: { via: 'call', session: bySession },
  proposals: { via: 'main' },
  resumeOf: { via: 'main' },
  peers: { via: 'main' },
  counters: { via: 'main' },
  stop: { via: 'main' },
} satisfies HostOpTable

/** How a call of the sink `S` crosses, Worker → main. */
export interface SinkOp<S, K extends keyof S> {
  /** Worker side: the arguments as they cross, byte arrays owned into `t`. @default as they are */
  out?(args: ArgsOf<S, K>, t: TransferList): ArgsOf<S, K>
}

/** One entry for every method of the sink `S`, none optional. */
export type SinkOpTable<S = HostSink> = { [K in Method<S>]-?: SinkOp<S, K> }

/** How each `HostSink` method crosses. */
export const SINK_OPS = {
  sendFrame: { out: ([linkId, frame], t) => [linkId, t.own(frame)] },
  closeLink: {},
  requestLink: {},
  event: {
    out: ([event]) => [
      event.type === 'proposal' ? { ...event, proposal: ownProposal(event.proposal) } : event,
    ],
  },
} satisfies SinkOpTable

/** Is `name` an own entry of `table` (a name that came across is checked before it is called)? */
export function hasOp<T extends object>(table: T, name: unknown): name is keyof T {
  return typeof name === 'string' && Object.hasOwn(table, name)
}

/** The methods of the host seam, by name. */
export type HostMethod = keyof typeof HOST_OPS

/**
 * An entry of {@link HOST_OPS} as the bridge's generic code reads it: each hook takes and gives
 * the arguments as an array (the table above checked them against the method's own types).
 */
export interface AnyHostOp {
  via: 'turn' | 'call' | 'main'
  strict?: true
  opens?: true
  signal?: number
  out?(args: unknown[], t: TransferList, main: MainSide): unknown[]
  in?(args: unknown[], worker: WorkerSide): unknown[]
  session?(args: unknown[]): SessionId
  peer?(args: unknown[]): PartyId
  back?(value: unknown, t: TransferList): unknown
  done?(value: unknown, main: MainSide): void
}

/** The entry of a method name that came across, if it names one. */
export function hostOp(method: unknown): AnyHostOp | undefined {
  return hasOp(HOST_OPS, method) ? (HOST_OPS[method] as AnyHostOp) : undefined
}

/** Options carried with their `signal` left out (it cannot cross). */
export function withoutSignal(options: ReceiveOptions | undefined): Omit<ReceiveOptions, 'signal'> {
  const { signal: _signal, ...rest } = options ?? {}
  return rest
}
