/**
 * An outbox store in a file (Node): one JSON line per record after a snapshot line. The file
 * is compacted when opened (the snapshot of what it held replaces it, through a temporary file
 * and a rename) and again every `compactEvery` records. Appends are `fs.writeSync` on a file
 * descriptor kept open: once `append` returns, the record survives the process being killed.
 * @module
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import type { OutboxRecord, OutboxState, OutboxStore } from './outbox.ts'
import {
  applyOutboxRecord,
  encodeOutboxRecord,
  encodeOutboxSnapshot,
  readOutboxLines,
} from './outbox-state.ts'

/** Options of {@link createFileOutboxStore}. */
export interface FileOutboxStoreOptions {
  /**
   * When to fsync: `'never'` leaves records in the page cache (they survive the process being
   * killed, not the machine losing power), `'always'` fsyncs every append (survives power
   * loss, costs a disk flush per record). Compaction always fsyncs before its rename.
   * @default 'never'
   */
  fsync?: 'never' | 'always'
  /** Compact after this many appended records. @default 20000 */
  compactEvery?: number
  /** Told about a torn last line skipped on open (a write cut by a crash). @default console.warn */
  onWarning?: (message: string) => void
}

/** A file outbox store, with what its opening found. */
export interface FileOutboxStore extends OutboxStore {
  /** Lines skipped on open because a crash tore them (0 or 1). */
  readonly tornLines: number
  /** Records appended since the last compaction. */
  readonly journaled: number
}

/**
 * Open (or create, mode 0600) the outbox store at `path`. One store per identity and process.
 * @throws ConclaveError `OUTBOX_CORRUPT` when the file is damaged other than at its last line
 * @example
 * ```ts
 * const party = createParty({ identity, crypto, transport, outbox: createFileOutboxStore('alice.outbox') })
 * ```
 */
export function createFileOutboxStore(path: string, options: FileOutboxStoreOptions = {}): FileOutboxStore {
  const fsyncAlways = options.fsync === 'always'
  const compactEvery = options.compactEvery ?? 20_000
  const warn = options.onWarning ?? ((m: string) => console.warn(m))
  const { state, tornLines } = existsSync(path)
    ? readOutboxLines(readFileSync(path, 'utf8').split('\n'))
    : { state: undefined as OutboxState | undefined, tornLines: 0 }
  const current = state ?? readOutboxLines([]).state
  if (tornLines > 0) warn(`outbox ${path}: skipped a torn last line (a write cut by a crash)`)
  let fd = -1
  let journaled = 0
  const compact = (): void => {
    const tmp = `${path}.tmp`
    const t = openSync(tmp, 'w', 0o600)
    try {
      writeSync(t, `${encodeOutboxSnapshot(current)}\n`)
      fsyncSync(t)
    } finally {
      closeSync(t)
    }
    if (fd >= 0) closeSync(fd)
    renameSync(tmp, path)
    fd = openSync(path, 'a', 0o600)
    journaled = 0
  }
  compact()
  return {
    get tornLines() {
      return tornLines
    },
    get journaled() {
      return journaled
    },
    load: () => current,
    append(record: OutboxRecord) {
      applyOutboxRecord(current, record)
      writeSync(fd, `${encodeOutboxRecord(record)}\n`)
      if (fsyncAlways) fsyncSync(fd)
      if (++journaled >= compactEvery) compact()
    },
    compact,
    close() {
      if (fd >= 0) closeSync(fd)
      fd = -1
    },
  }
}
