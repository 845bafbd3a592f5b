/**
 * Counters of everything a party sends, receives, drops or refuses, by reason and transport.
 * @module
 */
import type { ErrorCode } from './errors.ts'
import type { TransportKind } from './transport/types.ts'

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
}

/** Mutable counters. */
export class Counters {
  private readonly traffic = new Map<TransportKind, TrafficCounters>()
  private readonly drops = new Map<ErrorCode, number>()
  private readonly hsFail = new Map<ErrorCode, number>()
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
    }
  }
}
