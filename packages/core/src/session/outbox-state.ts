/**
 * The outbox state model shared by every {@link OutboxStore}: folding records into the state,
 * the JSON-line encoding of records and snapshots (for stores that keep text: a file, an
 * IndexedDB value), and the in-memory store.
 * @module
 */
import { fromHex, toHex } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { ENDED_SESSIONS_KEPT } from './ended-sessions.ts'
import type {
  OutboxInboxKey,
  OutboxPeerState,
  OutboxRecord,
  OutboxSessionState,
  OutboxState,
  OutboxStore,
} from './outbox.ts'

/** An empty state (a store that never held anything). */
export function createOutboxState(): OutboxState {
  return { epoch: undefined, peers: new Map(), sessions: new Map(), ended: new Set() }
}

function peerOf(state: OutboxState, peer: PartyId): OutboxPeerState {
  let p = state.peers.get(peer)
  if (!p) {
    p = { epoch: undefined, sendNext: 0, unacked: new Map(), processed: 0 }
    state.peers.set(peer, p)
  }
  return p
}

function sameKey(a: OutboxInboxKey, b: OutboxInboxKey): boolean {
  return a.from === b.from && a.round === b.round && a.kind === b.kind && a.broadcast === b.broadcast
}

/** Record `seq` in a replay memory kept as a floor plus the numbers above it. */
function replayAdd(r: { floor: number; above: Set<number> }, seq: number): void {
  if (seq < r.floor) return
  r.above.add(seq)
  while (r.above.has(r.floor)) {
    r.above.delete(r.floor)
    r.floor++
  }
}

/** Fold one record into `state` (mutating it). Records about unknown sessions are ignored. */
export function applyOutboxRecord(state: OutboxState, r: OutboxRecord): void {
  switch (r.type) {
    case 'epoch':
      state.epoch = r.epoch
      return
    case 'peer-epoch': {
      const p = peerOf(state, r.peer)
      if (p.epoch !== undefined && p.epoch !== r.epoch) {
        p.sendNext = 0
        p.unacked.clear()
        p.processed = 0
      }
      p.epoch = r.epoch
      return
    }
    case 'enqueue': {
      for (const t of r.to) {
        const p = peerOf(state, t.peer)
        p.unacked.set(t.seq, r.unit)
        if (t.seq + 1 > p.sendNext) p.sendNext = t.seq + 1
      }
      for (const ref of [r, ...(r.more ?? [])]) {
        const s = state.sessions.get(ref.sessionId)
        if (!s) continue
        if (ref.streamSeq + 1 > (s.seqs.get(ref.stream) ?? 0)) s.seqs.set(ref.stream, ref.streamSeq + 1)
        s.sent.set(ref.stream, (s.sent.get(ref.stream) ?? 0) + 1)
      }
      return
    }
    case 'ack': {
      const p = state.peers.get(r.peer)
      if (!p) return
      for (const seq of p.unacked.keys()) {
        if (seq >= r.next) break
        p.unacked.delete(seq)
      }
      return
    }
    case 'processed': {
      const p = peerOf(state, r.peer)
      if (r.next > p.processed) p.processed = r.next
      return
    }
    case 'open':
      if (state.sessions.has(r.session.id) || state.ended.has(r.session.id)) return
      state.sessions.set(r.session.id, {
        options: r.session,
        seqs: new Map(),
        sent: new Map(),
        taken: new Map(),
        replay: new Map(),
        fresh: new Set(),
        round: 1,
        inbox: [],
      })
      return
    case 'end':
      state.sessions.delete(r.sessionId)
      state.ended.delete(r.sessionId)
      state.ended.add(r.sessionId)
      // the newest ids only, as the host keeps them (`ended-sessions.ts` says why that is enough)
      for (const oldest of state.ended) {
        if (state.ended.size <= ENDED_SESSIONS_KEPT) break
        state.ended.delete(oldest)
      }
      return
    case 'accept': {
      if (r.deliverySeq >= 0) {
        const p = peerOf(state, r.key.from)
        if (r.deliverySeq + 1 > p.processed) p.processed = r.deliverySeq + 1
      }
      const s = state.sessions.get(r.sessionId)
      if (!s) return
      s.inbox.push({ key: r.key, body: r.body })
      let replay = s.replay.get(r.replayStream)
      if (!replay) {
        replay = { floor: 0, above: new Set() }
        s.replay.set(r.replayStream, replay)
      }
      replayAdd(replay, r.replaySeq)
      s.fresh.add(r.fresh)
      return
    }
    case 'round': {
      const s = state.sessions.get(r.sessionId)
      if (s && r.round > s.round) s.round = r.round
      return
    }
    case 'take': {
      const s = state.sessions.get(r.sessionId)
      if (!s) return
      const i = s.inbox.findIndex((m) => sameKey(m.key, r.key))
      if (i >= 0) s.inbox.splice(i, 1)
      s.taken.set(r.key.from, (s.taken.get(r.key.from) ?? 0) + 1)
      return
    }
  }
}

// ── JSON lines ──────────────────────────────────────────────────────────────────────────────

const RECORD_TYPES: ReadonlySet<string> = new Set<OutboxRecord['type']>([
  'epoch',
  'peer-epoch',
  'enqueue',
  'ack',
  'processed',
  'open',
  'end',
  'accept',
  'round',
  'take',
])

/** Bytes travel as `{ "hex": "…" }` in JSON lines. */
function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { hex: toHex(value) } : value
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>
    if (typeof o.hex === 'string' && Object.keys(o).length === 1) return fromHex(o.hex)
  }
  return value
}

/** One record as one JSON line (without the newline). */
export function encodeOutboxRecord(r: OutboxRecord): string {
  return JSON.stringify(r, replacer)
}

/** The version of the snapshot line. */
const SNAPSHOT_VERSION = 1

/** A snapshot of `state` as one JSON line (without the newline). */
export function encodeOutboxSnapshot(state: OutboxState): string {
  return JSON.stringify(
    {
      type: 'snapshot',
      version: SNAPSHOT_VERSION,
      epoch: state.epoch,
      peers: [...state.peers].map(([peer, p]) => [
        peer,
        { epoch: p.epoch ?? null, sendNext: p.sendNext, processed: p.processed, unacked: [...p.unacked] },
      ]),
      sessions: [...state.sessions].map(([id, s]) => [
        id,
        {
          options: s.options,
          seqs: [...s.seqs],
          sent: [...s.sent],
          taken: [...s.taken],
          replay: [...s.replay].map(([k, r]) => [k, r.floor, [...r.above]]),
          fresh: [...s.fresh],
          round: s.round,
          inbox: s.inbox.map((m) => [m.key, m.body]),
        },
      ]),
      ended: [...state.ended],
    },
    replacer,
  )
}

interface SnapshotJson {
  type: 'snapshot'
  version: number
  epoch?: Uint8Array
  peers: [
    PartyId,
    { epoch: string | null; sendNext: number; processed: number; unacked: [number, Uint8Array][] },
  ][]
  sessions: [
    SessionId,
    {
      options: OutboxSessionState['options']
      seqs: [string, number][]
      sent: [string, number][]
      taken: [PartyId, number][]
      replay: [string, number, number[]][]
      fresh: string[]
      round: number
      inbox: [OutboxInboxKey, Uint8Array][]
    },
  ][]
  ended: SessionId[]
}

function snapshotToState(j: SnapshotJson): OutboxState {
  if (j.version !== SNAPSHOT_VERSION)
    throw new ConclaveError('OUTBOX_CORRUPT', `outbox snapshot version ${j.version} is not supported`)
  return {
    epoch: j.epoch,
    peers: new Map(
      j.peers.map(([peer, p]) => [
        peer,
        {
          epoch: p.epoch ?? undefined,
          sendNext: p.sendNext,
          processed: p.processed,
          unacked: new Map(p.unacked),
        },
      ]),
    ),
    sessions: new Map(
      j.sessions.map(([id, s]) => [
        id,
        {
          options: s.options,
          seqs: new Map(s.seqs),
          sent: new Map(s.sent),
          taken: new Map(s.taken),
          replay: new Map(s.replay.map(([k, floor, above]) => [k, { floor, above: new Set(above) }])),
          fresh: new Set(s.fresh),
          round: s.round,
          inbox: s.inbox.map(([key, body]) => ({ key, body })),
        },
      ]),
    ),
    ended: new Set(j.ended),
  }
}

/**
 * Read JSON lines (an optional snapshot line, then records) into a state. A line that does not
 * parse is tolerated only at the end (a write torn by a crash): it is skipped and counted.
 * @throws ConclaveError `OUTBOX_CORRUPT` for a bad line followed by good ones, an unknown record
 *   type or an unsupported snapshot version
 */
export function readOutboxLines(lines: readonly string[]): { state: OutboxState; tornLines: number } {
  let state = createOutboxState()
  const texts = lines.filter((l) => l.trim() !== '')
  let torn = 0
  for (const [i, text] of texts.entries()) {
    let value: { type?: unknown }
    try {
      value = JSON.parse(text, reviver) as { type?: unknown }
    } catch {
      if (i === texts.length - 1) {
        torn++
        continue
      }
      throw new ConclaveError('OUTBOX_CORRUPT', `outbox line ${i + 1} of ${texts.length} is not JSON`)
    }
    if (value.type === 'snapshot') {
      if (i !== 0)
        throw new ConclaveError('OUTBOX_CORRUPT', `outbox snapshot at line ${i + 1}, expected first`)
      state = snapshotToState(value as SnapshotJson)
      continue
    }
    if (typeof value.type !== 'string' || !RECORD_TYPES.has(value.type)) {
      throw new ConclaveError(
        'OUTBOX_CORRUPT',
        `outbox line ${i + 1}: unknown record type ${JSON.stringify(value.type)}`,
      )
    }
    applyOutboxRecord(state, value as OutboxRecord)
  }
  return { state, tornLines: torn }
}

// ── memory store ────────────────────────────────────────────────────────────────────────────

/** An in-memory outbox store with a record counter (tests; survives a host, not a process). */
export interface MemoryOutboxStore extends OutboxStore {
  /** Records appended so far. */
  readonly records: number
}

/**
 * An outbox store in memory: hand the same store to a new host to simulate a restart.
 * @example
 * ```ts
 * const outbox = createMemoryOutboxStore()
 * const party = createParty({ identity, crypto, transport, outbox })
 * ```
 */
export function createMemoryOutboxStore(): MemoryOutboxStore {
  const state = createOutboxState()
  let records = 0
  return {
    get records() {
      return records
    },
    load: () => state,
    append(record) {
      records++
      applyOutboxRecord(state, record)
    },
    close() {},
  }
}
