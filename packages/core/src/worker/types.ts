/**
 * The Worker boundary of the session host (types only): what crosses between the page (or Node's
 * main thread) and the Worker that runs the host. Everything here is structured-cloneable plain
 * data; frames and bodies cross as Uint8Arrays over exact ArrayBuffers, transferred.
 *
 * Main → Worker: calls on {@link WorkerHostApi}. The void methods of `SessionHost` (links,
 * frames, sessions opened and closed) are queued and sent as one {@link HostOp} batch per turn.
 * Worker → main: one {@link SinkBatch} per turn through {@link RemoteSink}, exposed by comlink on
 * a MessagePort that the main side transfers at start (what `comlink.proxy` does, with a port the
 * main side owns and closes when the Worker ends), carrying the `HostSink` calls in order and a {@link HostSnapshot} that the main side serves
 * `peers()`, `counters()` and `proposals()` from.
 * @module
 */
import type { CounterSnapshot } from '../counters.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import type { ErrorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { Limits } from '../session/limits.ts'
import type { OutboxInboxKey, OutboxStore } from '../session/outbox.ts'
import type {
  LinkInfo,
  PartyEvent,
  PeerInfo,
  ProposalInfo,
  ProposeOptions,
  SessionOptions,
  SessionResume,
} from '../session/types.ts'

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

/** The configuration a Worker host starts from: plain data, cloned into the Worker. */
export interface WorkerHostConfig {
  /** Which backend the Worker builds for Ed25519/X25519 (through its {@link WorkerCryptoFactory}). */
  crypto: CryptoBackend['name']
  /** Which ChaCha20-Poly1305 the Worker uses: `'node'` (node:crypto) only exists in Node Workers. */
  aead: 'node' | 'noble'
  /**
   * The signing key, structured-cloned into the Worker. A WebCrypto key stays a CryptoKey (cloneable
   * even when non-extractable); a noble key is its seed.
   */
  identity: SigningKey
  /** Service mode both ends of a link must share. @default 'conclave' */
  mode?: string
  /** When set, only these parties are accepted. Without it: open mode. */
  roster?: readonly PartyId[]
  /** 16-byte stream epoch. @default 16 random bytes, drawn in the Worker */
  epoch?: Uint8Array
  limits?: Partial<Limits>
  /**
   * Where the Worker keeps its outbox store, opened inside the Worker before the host starts.
   * The store's epoch wins over `epoch`; the host closes the store on `stop()`.
   * @default none: a restart is a new epoch, and peers abort the open sessions (PEER_RESTARTED)
   */
  outbox?: WorkerOutboxConfig
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

/** One queued call of the void `SessionHost` methods, main → Worker, applied in order. */
export type HostOp =
  | { op: 'connect' }
  | { op: 'link-opened'; info: LinkInfo }
  | { op: 'link-frame'; linkId: string; frame: Uint8Array }
  | { op: 'link-closed'; linkId: string; code: ErrorCode; reason: string }
  | { op: 'open-session'; options: SessionOptions }
  | { op: 'close-session'; sessionId: SessionId }

/** One `HostSink` call, Worker → main, replayed in order on the main side. */
export type SinkOp =
  | { op: 'send-frame'; linkId: string; frame: Uint8Array }
  | { op: 'close-link'; linkId: string; code: ErrorCode; reason: string }
  | { op: 'request-link'; peer: PartyId }
  | { op: 'event'; event: PartyEvent }

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
  ops: SinkOp[]
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

/** `ReceiveOptions` without the signal (which cannot cross): it is mapped to a `waitId`. */
export interface WireReceiveOptions {
  kind?: string
  broadcast?: boolean
  timeoutMs?: number
  /** The caller's signal was already aborted: the call fails with ABORTED after its checks. */
  aborted?: boolean
}

/**
 * The object the Worker exposes through comlink. The `SessionHost` methods keep their names and
 * arguments; `receive` / `collect` take a `waitId` that `cancel(waitId)` aborts.
 */
export interface WorkerHostApi {
  /**
   * Build the backend and the host. `sinkPort` (transferred) is where the main side exposes its
   * {@link RemoteSink}.
   * @throws ConclaveError `INVALID_ARGUMENT`, `CRYPTO_UNAVAILABLE`, `NOT_STARTED` (called twice),
   *   `OUTBOX_UNAVAILABLE` / `OUTBOX_CORRUPT` (the outbox store could not be opened)
   */
  start(config: WorkerHostConfig, sinkPort: MessagePort): Promise<WorkerHostStarted>
  /** Apply queued void calls in order. A failing one is reported as a `drop` event. */
  apply(ops: HostOp[]): void
  linkOpened(info: LinkInfo): void
  linkFrame(linkId: string, frame: Uint8Array): void
  linkClosed(linkId: string, code: ErrorCode, reason: string): void
  openSession(options: SessionOptions): void
  closeSession(sessionId: SessionId): void
  propose(options: ProposeOptions): Promise<WithSnapshot<SessionId>>
  send(
    sessionId: SessionId,
    to: PartyId,
    round: number,
    body: Uint8Array,
    kind?: string,
  ): Promise<WithSnapshot<void>>
  broadcast(sessionId: SessionId, round: number, body: Uint8Array, kind?: string): Promise<WithSnapshot<void>>
  receive(
    sessionId: SessionId,
    from: PartyId,
    round: number,
    options?: WireReceiveOptions,
    waitId?: string,
  ): Promise<WithSnapshot<Uint8Array>>
  collect(
    sessionId: SessionId,
    round: number,
    options?: WireReceiveOptions,
    waitId?: string,
  ): Promise<WithSnapshot<Map<PartyId, Uint8Array>>>
  /** Abort the receive / collect started with `waitId` (ABORTED); unknown ids are ignored. */
  cancel(waitId: string): void
  abort(sessionId: SessionId, reason: string): Promise<WithSnapshot<void>>
  started(sessionId: SessionId, timeoutMs?: number): Promise<WithSnapshot<void>>
  /** A fresh snapshot. */
  snapshot(): HostSnapshot
  /** Stop the host and resolve once its last batch (close records, events) reached the main side. */
  stop(): Promise<void>
}
