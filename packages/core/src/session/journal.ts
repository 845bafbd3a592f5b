/**
 * The journal: what the host tells its outbox store (DESIGN "Delivery", `outbox.ts` for the
 * records and when each is written). One method per record, so the host never builds a record
 * nobody keeps: without a store the host runs on {@link noJournal}, whose methods do nothing.
 * @module
 */
import type { PartyId, SessionId } from '../ids.ts'
import type { PeerDelivery } from './delivery.ts'
import type { OutboxInboxKey, OutboxSessionOptions, OutboxState, OutboxStore } from './outbox.ts'

/** Where a unit being queued belongs: its session, stream and envelope seq. */
export interface JournalStreamRef {
  sessionId: SessionId
  /** The recipient's PartyId or `'broadcast'`. */
  stream: string
  seq: bigint
}

/** What the host journals (each method writes one record, or none). */
export interface Journal {
  /** What the store kept before this process (read once, at host start); none without a store. */
  readonly kept: OutboxState | undefined
  /** This party's epoch, once. */
  epoch(epoch: Uint8Array): void
  /** `peer`'s epoch as a handshake showed it. */
  peerEpoch(peer: PartyId, epoch: string): void
  /** A signed unit (or batch) queued for `to`, before it is first sent. `refs[0]` is its first envelope's. */
  enqueue(
    unit: Uint8Array,
    to: readonly { peer: PartyId; seq: number }[],
    refs: readonly JournalStreamRef[],
  ): void
  /** `peer` acknowledged every unit below `next`. */
  ack(peer: PartyId, next: bigint): void
  /** Everything processed from the peer of `d`, if not journaled yet (before an ack says so). */
  processed(d: PeerDelivery): void
  /** A unit accepted into a session's inbox, with its delivery number (-1: none). */
  accept(
    sessionId: SessionId,
    key: OutboxInboxKey,
    body: Uint8Array,
    replay: { stream: string; seq: bigint; fresh: string },
    deliverySeq: bigint | undefined,
  ): void
  /** A session opened. */
  open(session: OutboxSessionOptions): void
  /** A session aborted or was closed by the application. */
  end(sessionId: SessionId): void
  /** A session's current round rose to `round`. */
  round(sessionId: SessionId, round: number): void
  /** The application took the oldest message of an inbox slot. */
  take(sessionId: SessionId, key: OutboxInboxKey): void
  /** Release the store (the host's `stop()`). */
  close(): void
}

const nothing = (): void => undefined

/** The journal of a host without an outbox store: keeps nothing, costs nothing. */
export const noJournal: Journal = {
  kept: undefined,
  epoch: nothing,
  peerEpoch: nothing,
  enqueue: nothing,
  ack: nothing,
  processed: nothing,
  accept: nothing,
  open: nothing,
  end: nothing,
  round: nothing,
  take: nothing,
  close: nothing,
}

/**
 * The journal of a host with an outbox store: appends each record, unless the host has
 * stopped (`running()` false: a stopped host's sessions resume next time as they were).
 */
export function storeJournal(store: OutboxStore, running: () => boolean): Journal {
  const append: OutboxStore['append'] = (record) => {
    if (running()) store.append(record)
  }
  return {
    kept: store.load(),
    epoch: (epoch) => append({ type: 'epoch', epoch }),
    peerEpoch: (peer, epoch) => append({ type: 'peer-epoch', peer, epoch }),
    enqueue(unit, to, refs) {
      const [first, ...more] = refs
      append({
        type: 'enqueue',
        sessionId: first!.sessionId,
        stream: first!.stream,
        streamSeq: Number(first!.seq),
        unit,
        to: [...to],
        ...(more.length > 0
          ? {
              more: more.map((r) => ({ sessionId: r.sessionId, stream: r.stream, streamSeq: Number(r.seq) })),
            }
          : {}),
      })
    },
    ack: (peer, next) => append({ type: 'ack', peer, next: Number(next) }),
    processed(d) {
      if (d.journaled >= d.processed) return
      append({ type: 'processed', peer: d.peer, next: Number(d.processed) })
      d.journaled = d.processed
    },
    accept(sessionId, key, body, replay, deliverySeq) {
      append({
        type: 'accept',
        sessionId,
        key,
        body,
        replayStream: replay.stream,
        replaySeq: Number(replay.seq),
        fresh: replay.fresh,
        deliverySeq: deliverySeq === undefined ? -1 : Number(deliverySeq),
      })
    },
    open: (session) => append({ type: 'open', session }),
    end: (sessionId) => append({ type: 'end', sessionId }),
    round: (sessionId, round) => append({ type: 'round', sessionId, round }),
    take: (sessionId, key) => append({ type: 'take', sessionId, key }),
    close: () => store.close(),
  }
}
