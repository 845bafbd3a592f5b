/**
 * An outbox store in IndexedDB (browsers: a page or a Worker, where the Worker host opens it from
 * `WorkerHostConfig.outbox`). One database per identity, holding one object store of JSON lines
 * (the encoding of `outbox-state.ts`) under increasing keys: a snapshot line, then one line per
 * record. The journal is compacted when opened (in the transaction that reads it) and again every
 * `compactEvery` records: one transaction clears it and writes the snapshot of the state.
 *
 * **Durability.** `append` is synchronous in memory and asynchronous on disk: it folds the
 * record into the state and queues its line; the lines queued during a turn are written by one
 * transaction (group commit), one transaction at a time, so they commit in order and nothing is
 * committed after a write that failed: the database always holds a prefix of the journal.
 * {@link IndexedDbOutboxStore.flush} resolves once everything appended before it is committed.
 * With `durability: 'relaxed'` (the default) a committed transaction is with the browser's
 * storage backend and the operating system: it survives the tab, the Worker or the browser being
 * killed, not necessarily the machine losing power (`'strict'` waits for the disk).
 *
 * What a crash may lose: the records appended since the last commit (a turn's worth, a few ms).
 * The Worker host (`WorkerHostConfig.outbox: { indexedDb }`) holds back everything it tells the
 * page (frames to send, events, results) until the records behind it are committed, so such a
 * loss is never seen by a peer or the application: the party restarts as if it had crashed a
 * moment earlier. Used with an in-thread host there is no such gate: a frame can leave before
 * its `enqueue` or `processed` record commits, and a crash in that window can make the restarted
 * party reuse delivery numbers or envelope seqs its peers already hold (they skip or refuse those
 * units), and an ack riding in such a frame can acknowledge a message whose `accept` record
 * is then lost. A failed write (quota, the database deleted by another tab …) fails the store:
 * `flush()` rejects and `append` throws `OUTBOX_UNAVAILABLE`.
 * @module
 */
import { describe } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import type { OutboxRecord, OutboxState, OutboxStore } from './outbox.ts'
import {
  applyOutboxRecord,
  encodeOutboxRecord,
  encodeOutboxSnapshot,
  readOutboxLines,
} from './outbox-state.ts'

/** The schema version of the database (`indexedDB.open(name, version)`). */
const DB_VERSION = 1
/** The object store of JSON lines, keyed by an increasing number. */
const JOURNAL = 'journal'

/** Options of {@link openIndexedDbOutboxStore}. */
export interface IndexedDbOutboxStoreOptions {
  /** The IndexedDB to use (e.g. fake-indexeddb's in Node tests). @default globalThis.indexedDB */
  indexedDB?: IDBFactory
  /**
   * The durability of the write transactions: `'relaxed'` commits once the operating system has
   * the data (survives the tab or the browser being killed), `'strict'` once it is on disk
   * (survives power loss; costs a disk flush per transaction).
   * @default 'relaxed'
   */
  durability?: 'relaxed' | 'strict'
  /** Compact after this many appended records. @default 20000 */
  compactEvery?: number
  /** Told about a damaged last line skipped on open. @default console.warn */
  onWarning?: (message: string) => void
  /** Aborts the opening (`ABORTED`); the store, once returned, is closed with `close()`. */
  signal?: AbortSignal
}

/** An IndexedDB outbox store, with what its opening found and its write queue. */
export interface IndexedDbOutboxStore extends OutboxStore {
  /** The database name. */
  readonly name: string
  /** Lines skipped on open because they did not parse (0 or 1, the last one). */
  readonly tornLines: number
  /** Records appended since the last compaction. */
  readonly journaled: number
  /** Records appended and not committed yet. */
  readonly pending: number
  /** Replace the journal by a snapshot of the state, in the next transaction. */
  compact(): void
  /**
   * Resolves once every record appended so far is committed (at once when none waits).
   * @throws ConclaveError `OUTBOX_UNAVAILABLE` when a write failed (this one or an earlier one)
   */
  flush(): Promise<void>
}

function unavailable(message: string, cause?: unknown): ConclaveError {
  return new ConclaveError(
    'OUTBOX_UNAVAILABLE',
    message,
    {},
    cause === undefined || cause === null ? undefined : { cause },
  )
}

/** The database, opened (and created at its first use). */
function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let req: IDBOpenDBRequest
    try {
      req = factory.open(name, DB_VERSION)
    } catch (e) {
      reject(unavailable(`outbox ${name}: IndexedDB refused to open it`, e))
      return
    }
    req.onupgradeneeded = (ev) => {
      // a new database (version 0 → 1); later versions would migrate here
      if (ev.oldVersion < 1) req.result.createObjectStore(JOURNAL, { autoIncrement: true })
    }
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(unavailable(`outbox ${name}: IndexedDB could not open it`, req.error))
    req.onblocked = () =>
      reject(unavailable(`outbox ${name}: another connection with an older version blocks the opening`))
  })
}

/**
 * Read the journal and replace it with the snapshot of what it held, in one transaction.
 * @throws ConclaveError `OUTBOX_CORRUPT` (the transaction is then aborted: nothing is rewritten)
 */
function readAndCompact(
  db: IDBDatabase,
  name: string,
  durability: 'relaxed' | 'strict',
): Promise<{ state: OutboxState; tornLines: number }> {
  return new Promise((resolve, reject) => {
    let out: { state: OutboxState; tornLines: number } | undefined
    let refused: unknown
    let tx: IDBTransaction
    let store: IDBObjectStore
    let all: IDBRequest<unknown[]>
    try {
      tx = db.transaction(JOURNAL, 'readwrite', { durability })
      store = tx.objectStore(JOURNAL)
      all = store.getAll()
    } catch (e) {
      reject(unavailable(`outbox ${name}: could not read the journal`, e))
      return
    }
    all.onsuccess = () => {
      try {
        const values = all.result
        const lines = values.map((v, i) => {
          if (typeof v !== 'string') {
            throw new ConclaveError(
              'OUTBOX_CORRUPT',
              `outbox ${name}: entry ${i + 1} of ${values.length} expected a JSON line, got ${describe(v)}`,
            )
          }
          return v
        })
        out = readOutboxLines(lines)
        store.clear()
        store.add(encodeOutboxSnapshot(out.state))
      } catch (e) {
        refused = e
        tx.abort()
      }
    }
    tx.oncomplete = () => resolve(out!)
    tx.onabort = () =>
      reject(refused ?? unavailable(`outbox ${name}: reading the journal was aborted`, tx.error))
  })
}

/**
 * Open (or create) the IndexedDB outbox store `name`: the journal is read once, folded into the
 * state (so that `load()` is synchronous) and compacted. One store per identity and per process:
 * two tabs of one identity must not share it (the web demo claims an identity with a Web Lock).
 * The host closes it on `stop()`; what is queued then is still written.
 *
 * @throws ConclaveError `OUTBOX_UNAVAILABLE` when there is no IndexedDB or it refuses the
 *   database; `OUTBOX_CORRUPT` when the journal is damaged other than at its last line;
 *   `INVALID_ARGUMENT` for a bad name or option; `ABORTED` when `signal` aborts the opening
 * @example
 * ```ts
 * const outbox = await openIndexedDbOutboxStore(`conclave-outbox-${partyId.slice(0, 16)}`)
 * const party = createParty({ identity, crypto, transport, outbox })
 * ```
 */
export async function openIndexedDbOutboxStore(
  name: string,
  options: IndexedDbOutboxStoreOptions = {},
): Promise<IndexedDbOutboxStore> {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new ConclaveError('INVALID_ARGUMENT', `"name" expected 1-256 characters, got ${describe(name)}`)
  }
  const durability = options.durability ?? 'relaxed'
  if (durability !== 'relaxed' && durability !== 'strict') {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"durability" expected 'relaxed' or 'strict', got ${describe(durability)}`,
    )
  }
  const compactEvery = options.compactEvery ?? 20_000
  if (!Number.isSafeInteger(compactEvery) || compactEvery < 1) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"compactEvery" expected a positive integer, got ${describe(compactEvery)}`,
    )
  }
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
  if (!factory) throw unavailable(`outbox ${name}: this context has no IndexedDB`)
  const signal = options.signal
  const aborted = (): ConclaveError => new ConclaveError('ABORTED', `opening outbox ${name} was aborted`)
  if (signal?.aborted) throw aborted()
  const db = await openDatabase(factory, name)
  let read: { state: OutboxState; tornLines: number }
  try {
    if (signal?.aborted) throw aborted()
    read = await readAndCompact(db, name, durability)
    if (signal?.aborted) throw aborted()
  } catch (e) {
    db.close()
    throw e
  }
  const warn = options.onWarning ?? ((m: string) => console.warn(m))
  if (read.tornLines > 0) warn(`outbox ${name}: skipped a damaged last line`)
  return new IdbStore(db, name, read.state, read.tornLines, durability, compactEvery)
}

/** A caller of `flush()`, waiting for the records up to `upTo` to commit. */
interface Waiter {
  upTo: number
  resolve: () => void
  reject: (e: unknown) => void
}

class IdbStore implements IndexedDbOutboxStore {
  /** Lines queued for the next transaction, in order. */
  private queue: string[] = []
  /** The next transaction clears the journal first (the queue then starts with a snapshot). */
  private clearFirst = false
  /** Records appended (ever) and records committed (ever): `flush()` waits for the difference. */
  private appended = 0
  private committed = 0
  private writing = false
  private scheduled = false
  private closing = false
  private closed = false
  private failure: ConclaveError | undefined
  private waiters: Waiter[] = []
  private sinceCompaction = 0

  constructor(
    private readonly db: IDBDatabase,
    readonly name: string,
    private readonly state: OutboxState,
    readonly tornLines: number,
    private readonly durability: 'relaxed' | 'strict',
    private readonly compactEvery: number,
  ) {
    // another tab deletes or upgrades the database: let it, and stop writing here
    db.onversionchange = () =>
      this.fail(unavailable(`outbox ${name}: the database is being deleted or upgraded elsewhere`))
    // the browser closed the connection (storage cleared, disk error)
    db.onclose = () => this.fail(unavailable(`outbox ${name}: the browser closed the database`))
  }

  get journaled(): number {
    return this.sinceCompaction
  }

  get pending(): number {
    return this.appended - this.committed
  }

  load(): OutboxState {
    return this.state
  }

  /** @throws ConclaveError `OUTBOX_UNAVAILABLE` once a write failed or the store was closed */
  append(record: OutboxRecord): void {
    if (this.failure) throw this.failure
    if (this.closing) throw unavailable(`outbox ${this.name} is closed`)
    const line = encodeOutboxRecord(record)
    applyOutboxRecord(this.state, record)
    this.queue.push(line)
    this.appended++
    if (++this.sinceCompaction >= this.compactEvery) this.compact()
    else this.schedule()
  }

  /** Replace the journal by a snapshot of the state (written by the next transaction). */
  compact(): void {
    if (this.failure || this.closing) return
    this.queue = [encodeOutboxSnapshot(this.state)]
    this.clearFirst = true
    this.sinceCompaction = 0
    this.schedule()
  }

  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.committed >= this.appended && !this.clearFirst) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.appended, resolve, reject }))
  }

  close(): void {
    if (this.closing) return
    this.closing = true
    // what is queued is still written; the connection closes once its transactions are done
    if (!this.writing) this.write()
    if (!this.writing) this.shut()
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      if (!this.writing) this.write()
    })
  }

  /** Write the queue in one transaction (one at a time: the next starts when this one commits). */
  private write(): void {
    if (this.failure || this.closed || (this.queue.length === 0 && !this.clearFirst)) return
    const lines = this.queue
    const clear = this.clearFirst
    const upTo = this.appended
    this.queue = []
    this.clearFirst = false
    let tx: IDBTransaction
    try {
      tx = this.db.transaction(JOURNAL, 'readwrite', { durability: this.durability })
      const store = tx.objectStore(JOURNAL)
      if (clear) store.clear()
      for (const line of lines) store.add(line)
    } catch (e) {
      this.fail(unavailable(`outbox ${this.name}: could not write to IndexedDB`, e))
      return
    }
    this.writing = true
    tx.oncomplete = () => {
      this.writing = false
      this.committed = Math.max(this.committed, upTo)
      const done = this.waiters.filter((w) => w.upTo <= upTo)
      this.waiters = this.waiters.filter((w) => w.upTo > upTo)
      for (const w of done) w.resolve()
      this.write()
      if (this.closing && !this.writing) this.shut()
    }
    tx.onabort = () => {
      this.writing = false
      this.fail(unavailable(`outbox ${this.name}: a write to IndexedDB failed`, tx.error))
    }
  }

  /** The store cannot keep what it is given any more: refuse from now on, tell who waits. */
  private fail(e: ConclaveError): void {
    if (this.failure || this.closed) return
    this.failure = e
    this.queue = []
    this.clearFirst = false
    for (const w of this.waiters.splice(0)) w.reject(e)
    this.shut()
  }

  private shut(): void {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }
}
