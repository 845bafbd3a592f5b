/**
 * The outbox store seam (DESIGN "Delivery"): what a party must keep so that, restarted with the
 * same key and the same store, it resumes its delivery streams and sessions with nothing lost
 * and nothing delivered twice. Types only; the state model is in `outbox-state.ts`, the
 * implementations are `createMemoryOutboxStore()` (tests) and `createFileOutboxStore(path)`
 * (Node, `@conclave/core/node`) and `openIndexedDbOutboxStore(name)` (browsers, a Worker host
 * included).
 *
 * **The model.** The host appends small {@link OutboxRecord}s, synchronously, at the points where
 * a promise to a peer or to the application is made:
 *
 * - `enqueue` before a unit is first transmitted (one record per signed unit or batch, naming
 *   every peer it goes to, so a broadcast is queued for all of them or for none);
 * - `ack` when a peer's acknowledgement trims the retransmit buffer;
 * - `accept` when a unit enters a session's inbox (with the unit's delivery number: it counts
 *   as processed), and `processed` before an acknowledgement is sent: **an ack never covers a
 *   unit that is not journaled**, so after a restart the peer sends again exactly what was lost;
 * - `take` before `receive` / `collect` hands a message to the application;
 * - `open` / `end` when a session opens, and when it aborts or is closed by the application;
 *   `round` when its current round rises (a resumed session keeps its window of rounds ahead);
 * - `epoch` once (the party keeps it across restarts: peers do not see `PEER_RESTARTED`), and
 *   `peer-epoch` when a peer is first seen or restarted (its delivery state starts afresh).
 *
 * A store folds the records into an {@link OutboxState} (`applyOutboxRecord`) and may replace
 * its journal with a snapshot of that state at any time (compaction).
 * @module
 */
import type { PartyId, SessionId } from '../ids.ts'

/** The options a session was opened with (kept to reopen it after a restart). */
export interface OutboxSessionOptions {
  id: SessionId
  participants: readonly PartyId[]
  roundTimeoutMs?: number
  roundTimeouts?: Readonly<Record<number, number>>
}

/** Which inbox slot a message is in (as `Inbox` keys it). */
export interface OutboxInboxKey {
  from: PartyId
  round: number
  kind: string
  broadcast: boolean
}

/** One journal record. A closed union: a store refuses a record type it does not know. */
export type OutboxRecord =
  /** This party's 16-byte stream epoch, written once. */
  | { type: 'epoch'; epoch: Uint8Array }
  /** `peer`'s epoch (hex) as seen in a handshake; a new one resets that peer's delivery state. */
  | { type: 'peer-epoch'; peer: PartyId; epoch: string }
  /**
   * A signed unit queued for `to` (delivery number `seq` for each), before it is first sent.
   * `stream` is the recipient's PartyId or `'broadcast'`, `streamSeq` the envelope's seq. A
   * batch unit names its other envelopes' streams in `more` (one record for the whole batch).
   */
  | {
      type: 'enqueue'
      sessionId: SessionId
      stream: string
      streamSeq: number
      unit: Uint8Array
      to: { peer: PartyId; seq: number }[]
      more?: { sessionId: SessionId; stream: string; streamSeq: number }[]
    }
  /** `peer` acknowledged every unit below `next`. */
  | { type: 'ack'; peer: PartyId; next: number }
  /** Every unit from `peer` below `next` is processed (written before the ack that says so). */
  | { type: 'processed'; peer: PartyId; next: number }
  /** A session opened. */
  | { type: 'open'; session: OutboxSessionOptions }
  /** A session aborted or was closed by the application: forget it, never reopen its id. */
  | { type: 'end'; sessionId: SessionId }
  /**
   * A unit accepted into a session's inbox: its body, its replay entry `(stream, seq)`, its
   * freshness key, and its delivery number `deliverySeq` from `key.from` (processed from then).
   */
  | {
      type: 'accept'
      sessionId: SessionId
      key: OutboxInboxKey
      body: Uint8Array
      replayStream: string
      replaySeq: number
      fresh: string
      deliverySeq: number
    }
  /** The session's current round rose to `round` (its window for messages ahead). */
  | { type: 'round'; sessionId: SessionId; round: number }
  /** The application took the oldest message of an inbox slot. */
  | { type: 'take'; sessionId: SessionId; key: OutboxInboxKey }

/** What a party keeps of one peer's delivery streams. */
export interface OutboxPeerState {
  /** The peer's epoch (hex) these counters belong to. */
  epoch: string | undefined
  /** Delivery number of the next unit queued for the peer. */
  sendNext: number
  /** Units not acknowledged yet, by delivery number, oldest first. */
  unacked: Map<number, Uint8Array>
  /** Units from the peer processed so far (what the next ack reports). */
  processed: number
}

/** What a party keeps of one open session. */
export interface OutboxSessionState {
  options: OutboxSessionOptions
  /** Next envelope seq per stream (a recipient's PartyId or `'broadcast'`). */
  seqs: Map<string, number>
  /** Units queued per stream: what the application has sent (for it to continue after a restart). */
  sent: Map<string, number>
  /** Messages the application took, per sender. */
  taken: Map<PartyId, number>
  /** Replay memory per stream `(from, to, epoch)`: all below `floor`, plus `above`. */
  replay: Map<string, { floor: number; above: Set<number> }>
  /** Streams `(from, epoch)` that passed the freshness check. */
  fresh: Set<string>
  /** The highest round this party sent in or waited on. */
  round: number
  /** Accepted, not yet taken, in arrival order. */
  inbox: { key: OutboxInboxKey; body: Uint8Array }[]
}

/** Everything an outbox store holds: the fold of its records. */
export interface OutboxState {
  epoch: Uint8Array | undefined
  peers: Map<PartyId, OutboxPeerState>
  sessions: Map<SessionId, OutboxSessionState>
  /** Sessions that ended (their ids are never reused). */
  ended: Set<SessionId>
}

/**
 * The outbox store seam. `append` is synchronous, so "journaled before it is sent or
 * delivered" holds without making every send asynchronous; how durable an append is (page
 * cache, fsync, or an IndexedDB transaction committed after `append` returns, which `flush()`
 * awaits and the Worker host waits for before anything leaves the Worker) is the
 * implementation's documented policy.
 */
export interface OutboxStore {
  /** The state folded from what was stored before this process (read once, at host start). */
  load(): OutboxState
  /**
   * Journal one record (and fold it into the state).
   * @throws what the medium throws (a full disk …): the host then fails the send or receive
   */
  append(record: OutboxRecord): void
  /** Replace the journal by a snapshot of the state (optional; stores may also do it on open). */
  compact?(): void
  /** Release the medium (the host calls it on stop). */
  close(): void
}
