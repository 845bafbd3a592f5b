/**
 * Counters of everything a party sends, receives, drops or refuses, by reason and transport; the
 * bytes each budgeted buffer holds and has held; and the penalty points given to each peer.
 * @module
 */
import type { BudgetUsage } from './byte-budget.ts'
import type { ErrorCode } from './errors.ts'
import type { PartyId } from './ids.ts'
import type { TransportKind } from './transport/types.ts'

/**
 * The buffers that hold bytes from peers, each under a byte budget (DESIGN "Byte budgets"):
 * chunked units being reassembled, units received and not yet processed, units and proposals of
 * sessions not opened here, unconsumed message bodies, and peers' broadcast units kept for the
 * echo step of consistent broadcast.
 */
export const BUFFER_NAMES = [
  'reassembly',
  'unprocessed',
  'unknownSessions',
  'inbox',
  'keptBroadcasts',
] as const

/** One of {@link BUFFER_NAMES}. */
export type BufferName = (typeof BUFFER_NAMES)[number]

/** Peers listed by name in `penaltyPointsByPeer` at most; points of any further peer count only in the total. */
export const MAX_PENALIZED_PEERS_LISTED = 1024

/** Traffic counted per transport kind. */
export interface TrafficCounters {
  framesSent: number
  framesReceived: number
  bytesSent: number
  bytesReceived: number
  messagesSent: number
  messagesReceived: number
}

/** A plain-data snapshot (safe to clone across a Worker boundary). */
export interface CounterSnapshot {
  byTransport: Partial<Record<TransportKind, TrafficCounters>>
  /** Units and frames refused or dropped, by code. */
  drops: Partial<Record<ErrorCode, number>>
  handshakeFailures: Partial<Record<ErrorCode, number>>
  handshakes: number
  retransmits: number
  /** Units received again after a link change and skipped (delivered once already). */
  duplicates: number
  /** Times a sender's inbox was full and its stream waited for the application. */
  inboxWaits: number
  /** Units held back because their sender was over its rate limits. */
  throttled: number
  sessionsOpened: number
  sessionsAborted: number
  /**
   * Sessions whose state was released (closed by the application, or failed and past their
   * linger); only their ids stay. Opened minus released is what the host holds.
   */
  sessionsReleased: number
  /** Batch units sent and received (each carries several envelopes, counted in `messages*`). */
  batchesSent: number
  batchesReceived: number
  /** Each budgeted buffer: bytes held now, the most held at once, the most one sender held, and its budget. */
  buffers: Record<BufferName, BudgetUsage>
  /** Penalty points given to peers for provable faults, all peers together (never decayed). */
  penaltyPoints: number
  /**
   * Penalty points given to each peer (never decayed; the ban threshold weighs a score that
   * halves every minute). Only peers that earned points, at most {@link MAX_PENALIZED_PEERS_LISTED}.
   */
  penaltyPointsByPeer: Partial<Record<PartyId, number>>
}

function noUsage(): BudgetUsage {
  return { bytes: 0, peakBytes: 0, peakSenderBytes: 0, perSender: 0, total: 0 }
}

/** A snapshot of counters that counted nothing (what a Worker host shows before its first snapshot). */
export function emptyCounterSnapshot(): CounterSnapshot {
  return new Counters().snapshot()
}

/** Mutable counters. */
export class Counters {
  private readonly traffic = new Map<TransportKind, TrafficCounters>()
  private readonly drops = new Map<ErrorCode, number>()
  private readonly hsFail = new Map<ErrorCode, number>()
  private readonly budgets = new Map<BufferName, { usage(): BudgetUsage }>()
  private readonly penalties = new Map<PartyId, number>()
  private penaltyTotal = 0
  handshakes = 0
  retransmits = 0
  duplicates = 0
  inboxWaits = 0
  throttled = 0
  sessionsOpened = 0
  sessionsAborted = 0
  sessionsReleased = 0
  batchesSent = 0
  batchesReceived = 0

  /** The counters of one transport kind. */
  of(kind: TransportKind): TrafficCounters {
    let t = this.traffic.get(kind)
    if (!t) {
      t = {
        framesSent: 0,
        framesReceived: 0,
        bytesSent: 0,
        bytesReceived: 0,
        messagesSent: 0,
        messagesReceived: 0,
      }
      this.traffic.set(kind, t)
    }
    return t
  }

  drop(code: ErrorCode): void {
    this.drops.set(code, (this.drops.get(code) ?? 0) + 1)
  }

  handshakeFailed(code: ErrorCode): void {
    this.hsFail.set(code, (this.hsFail.get(code) ?? 0) + 1)
  }

  /** Show `budget`'s usage as the buffer `name`. */
  watch(name: BufferName, budget: { usage(): BudgetUsage }): void {
    this.budgets.set(name, budget)
  }

  /** `peer` was given `points` penalty points. */
  penalized(peer: PartyId, points: number): void {
    this.penaltyTotal += points
    const had = this.penalties.get(peer)
    if (had !== undefined) this.penalties.set(peer, had + points)
    else if (this.penalties.size < MAX_PENALIZED_PEERS_LISTED) this.penalties.set(peer, points)
  }

  /** Times `code` was counted as a drop. */
  dropped(code: ErrorCode): number {
    return this.drops.get(code) ?? 0
  }

  snapshot(): CounterSnapshot {
    return {
      byTransport: Object.fromEntries([...this.traffic].map(([k, v]) => [k, { ...v }])),
      drops: Object.fromEntries(this.drops),
      handshakeFailures: Object.fromEntries(this.hsFail),
      handshakes: this.handshakes,
      retransmits: this.retransmits,
      duplicates: this.duplicates,
      inboxWaits: this.inboxWaits,
      throttled: this.throttled,
      sessionsOpened: this.sessionsOpened,
      sessionsAborted: this.sessionsAborted,
      sessionsReleased: this.sessionsReleased,
      batchesSent: this.batchesSent,
      batchesReceived: this.batchesReceived,
      buffers: Object.fromEntries(
        BUFFER_NAMES.map((name) => [name, this.budgets.get(name)?.usage() ?? noUsage()]),
      ) as Record<BufferName, BudgetUsage>,
      penaltyPoints: this.penaltyTotal,
      penaltyPointsByPeer: Object.fromEntries(this.penalties),
    }
  }
}
