/**
 * The Worker boundary of the session host (types only): what crosses between the page (or Node's
 * main thread) and the Worker that runs the host. Everything here is structured-cloneable plain
 * data; frames and bodies cross as Uint8Arrays over exact ArrayBuffers, transferred.
 *
 * The configuration is the host's own ({@link WorkerHostConfig} is derived from
 * `SessionHostConfig`, field by field), and the calls are the seam's own: each `SessionHost`
 * method crosses as a {@link BridgeCall} named after it, as its op table says (`worker/ops.ts`).
 * Main → Worker: the void methods are sent as one batch of calls per turn ({@link
 * WorkerHostApi.apply}), the others one by one ({@link WorkerHostApi.call}). Worker → main: the
 * `HostSink` calls of one turn as one {@link SinkBatch} through {@link RemoteSink}, exposed by
 * comlink on a MessagePort that the main side transfers at start, with a {@link HostSnapshot}
 * that the main side serves `peers()`, `counters()` and `proposals()` from.
 * @module
 */
import type { CounterSnapshot } from '../counters.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import type { GrantStore } from '../session/grants.ts'
import type { SessionHostConfig } from '../session/host.ts'
import type { OutboxInboxKey, OutboxStore } from '../session/outbox.ts'
import type { PeerInfo, ProposalInfo, SessionOptions, SessionResume } from '../session/types.ts'

/**
 * The outbox store the Worker opens for its host (DESIGN "Delivery"): it keeps the epoch,
 * delivery streams and open sessions across restarts of the Worker, the page or the process.
 * Which media a Worker can open is up to its entry (see {@link WorkerOutboxFactory}).
 */
export type WorkerOutboxConfig =
  /**
   * An IndexedDB database of this name (browser Workers: `openIndexedDbOutboxStore`). One per
   * identity; `durability` as that function takes it.
   */
  | { indexedDb: string; durability?: 'relaxed' | 'strict' }
  /** A file at this path (Node Workers: `createFileOutboxStore`). One per identity. */
  | { file: string }

/**
 * The grant store the Worker opens for its host: it remembers used grantIds (DESIGN "Session
 * control"). Which media a Worker can open is up to its entry (see {@link WorkerGrantStoreFactory}).
 */
export type WorkerGrantStoreConfig =
  /** A JSON-lines file at this path (Node Workers: `createFileGrantStore`). One per identity. */
  { file: string }

/**
 * What stands in, in the Worker's config, for each field of `SessionHostConfig` that cannot be
 * structured-cloned: a backend becomes its name (the Worker builds its own), a store the
 * description of the medium the Worker opens, and the clock stays behind (the Worker reads its own).
 */
export interface WorkerConfigReplacements {
  /** Which backend the Worker builds for Ed25519/X25519 (through its {@link WorkerCryptoFactory}). */
  crypto: CryptoBackend['name']
  /**
   * Where the Worker keeps used grantIds, opened inside the Worker before the host starts.
   * @default in memory: forgotten when the Worker ends
   */
  grantStore?: WorkerGrantStoreConfig
  /**
   * Where the Worker keeps its outbox store, opened inside the Worker before the host starts.
   * The store's epoch wins over `epoch`; the host closes the store on `stop()`.
   * @default none: a restart is a new epoch, and peers abort the open sessions (PEER_RESTARTED)
   */
  outbox?: WorkerOutboxConfig
  /** A function cannot cross: the Worker's host reads `Date.now`. */
  now?: never
  /** A function cannot cross: the Worker's entry passes its own ({@link ExposeSessionHostOptions}). */
  nextTurn?: never
}

/** True when every value of type `T` survives a structured clone as what it was. */
type Cloneable<T> = T extends string | number | boolean | bigint | null | undefined | Uint8Array
  ? true
  : T extends ReadonlySet<infer U>
    ? Cloneable<U>
    : T extends ReadonlyMap<infer K, infer V>
      ? Cloneable<K | V>
      : T extends readonly (infer U)[]
        ? Cloneable<U>
        : T extends (...args: never[]) => unknown
          ? false
          : T extends object
            ? false extends { [K in keyof T]-?: Cloneable<T[K]> }[keyof T]
              ? false
              : true
            : true // `unknown` (a key's backend handle: a CryptoKey or seed bytes)

/** The fields of `C` that a structured clone would refuse or change. */
export type NonCloneableKeys<C> = { [K in keyof C]-?: false extends Cloneable<C[K]> ? K : never }[keyof C]

/** What a field that cannot be cloned and has no replacement becomes: no value fits it. */
export interface NotCloneable<K> {
  readonly notCloneable: K
}

/**
 * A host config `C` as it crosses into a Worker: every field as it is (optional where it was),
 * except those of `R`, which replace theirs. A field of `C` that cannot be cloned and that `R`
 * does not replace becomes {@link NotCloneable}, so building the Worker config from a host config
 * (`toWorkerHostConfig`) stops compiling until `R` says what crosses instead.
 */
export type WorkerConfigOf<C, R> = {
  [K in keyof C]: K extends keyof R
    ? Exclude<R[K], undefined>
    : false extends Cloneable<C[K]>
      ? NotCloneable<K>
      : C[K]
}

/**
 * The configuration a Worker host starts from: the in-thread host's own `SessionHostConfig`
 * (mode, roster, grant issuers, `requireGrant`, epoch, limits, … whatever it gains), carried
 * whole, with only its non-cloneable parts replaced ({@link WorkerConfigReplacements}).
 */
export type WorkerHostConfig = WorkerConfigOf<SessionHostConfig, WorkerConfigReplacements> & {
  /** Which ChaCha20-Poly1305 the Worker uses: `'node'` (node:crypto) only exists in Node Workers. */
  aead: 'node' | 'noble'
}

/**
 * Builds the crypto backend inside the Worker from the config's names. Injected by the Worker's
 * entry file (Node: WebCrypto + node:crypto's AEAD; browsers: WebCrypto + @noble/ciphers), so the
 * Worker code never detects its platform.
 */
export type WorkerCryptoFactory = (config: WorkerHostConfig) => CryptoBackend | Promise<CryptoBackend>

/**
 * An outbox store as a Worker entry opens it. A store with `flush()` (IndexedDB) writes after
 * `append` returns: the Worker then holds back what it sends to the main side (frames, events,
 * results) until `flush()` says the records behind it are committed.
 */
export interface WorkerOutboxStore extends OutboxStore {
  /** Resolves once every record appended so far is committed; rejects when the store failed. */
  flush?(): Promise<void>
}

/**
 * Opens the store a {@link WorkerOutboxConfig} names, inside the Worker. Injected by the Worker's
 * entry file (browsers: IndexedDB; Node: a file), as the crypto factory is.
 * @throws ConclaveError `OUTBOX_UNAVAILABLE` for a medium this Worker cannot open
 */
export type WorkerOutboxFactory = (
  config: WorkerOutboxConfig,
) => WorkerOutboxStore | Promise<WorkerOutboxStore>

/**
 * Opens the grant store a {@link WorkerGrantStoreConfig} names, inside the Worker (Node: a file).
 * @throws ConclaveError `INVALID_ARGUMENT` for a medium this Worker cannot open
 */
export type WorkerGrantStoreFactory = (config: WorkerGrantStoreConfig) => GrantStore | Promise<GrantStore>

/**
 * A session the Worker's outbox store held open when the host started: it is dormant in the
 * Worker (it accepts units) until the application reopens it with `party.session(options)`.
 */
export interface RestoredSession {
  options: SessionOptions
  /** What was done before the restart (becomes `Session.resumed` once reopened). */
  resume: SessionResume
  /**
   * The inbox keys of the messages accepted before the restart and not taken yet, oldest first:
   * announced before the restart (or never), so the application asks for them itself.
   */
  waiting: OutboxInboxKey[]
}

/** What {@link WorkerHostApi.start} answers. */
export interface WorkerHostStarted {
  snapshot: HostSnapshot
  /** The sessions restored from the outbox store (none without one). */
  restored: RestoredSession[]
}

/**
 * One method call crossing the boundary: a `SessionHost` method (main → Worker) or a `HostSink`
 * method (Worker → main), by name, with its arguments made cloneable by its op table entry.
 */
export interface BridgeCall<M extends string = string> {
  method: M
  args: unknown[]
}

/** A call with a result, main → Worker. */
export interface HostCall extends BridgeCall {
  /**
   * Set when the call's options carried an AbortSignal (which cannot cross): `cancel(waitId)`
   * aborts the call in the Worker.
   */
  waitId?: string
  /** The caller's signal was already aborted: the call fails with ABORTED after its checks. */
  aborted?: boolean
}

/**
 * What the main side answers `peers()`, `counters()` and `proposals()` from. `version` grows with
 * every snapshot the Worker takes, so an older one (arriving on the other port) never replaces a
 * newer one.
 */
export interface HostSnapshot {
  version: number
  peers: PeerInfo[]
  counters: CounterSnapshot
  proposals: ProposalInfo[]
}

/** The Worker → main traffic of one turn. */
export interface SinkBatch {
  /** `HostSink` calls, in order. */
  ops: BridgeCall[]
  /** Taken after the ops: the state they leave behind. */
  snapshot: HostSnapshot
}

/** The main side's receiver of {@link SinkBatch}es, exposed on the port passed to `start`. */
export interface RemoteSink {
  deliver(batch: SinkBatch): void
}

/** A result with the snapshot taken when it settled, so the caller's next `counters()` sees it. */
export interface WithSnapshot<T> {
  value: T
  snapshot: HostSnapshot
}

/** The object the Worker exposes through comlink. */
export interface WorkerHostApi {
  /**
   * Build the backend, the stores and the host. `sinkPort` (transferred) is where the main side
   * exposes its {@link RemoteSink}.
   * @throws ConclaveError `INVALID_ARGUMENT`, `CRYPTO_UNAVAILABLE`, `NOT_STARTED` (called twice),
   *   `OUTBOX_UNAVAILABLE` / `OUTBOX_CORRUPT` (the outbox store could not be opened)
   */
  start(config: WorkerHostConfig, sinkPort: MessagePort): Promise<WorkerHostStarted>
  /** Apply a turn's void calls in order. A failing one is reported as a `drop` event. */
  apply(calls: BridgeCall[]): void
  /** One call with a result. */
  call(call: HostCall): Promise<WithSnapshot<unknown>>
  /** Abort the call started with `waitId` (ABORTED); unknown ids are ignored. */
  cancel(waitId: string): void
  /** A fresh snapshot. */
  snapshot(): HostSnapshot
  /** Stop the host and resolve once its last batch (close records, events) reached the main side. */
  stop(): Promise<void>
}
