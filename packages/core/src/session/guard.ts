/**
 * Defence against abusive peers (DESIGN "Connections" limits): per-peer token buckets for units
 * and bytes, a penalty score for invalid input, throttling, then disconnection and a cool-down
 * ban. One peer's misbehaviour never costs the others anything but its own link.
 * @module
 */

import type { ErrorCode } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import { TokenBucket } from '../token-bucket.ts'
import type { Limits } from './limits.ts'

/** Penalty weights of refusals; codes not listed weigh 1. */
const WEIGHTS: Partial<Record<ErrorCode, number>> = {
  ENVELOPE_BAD_SIGNATURE: 20,
  ENVELOPE_WRONG_SENDER: 20,
  CHUNK_INVALID: 30,
  REASSEMBLY_OVER_CAP: 30,
  MESSAGE_TOO_LARGE: 20,
  DELIVERY_GAP: 30,
  DECODE_SHORT_INPUT: 10,
  DECODE_TRAILING_BYTES: 10,
  DECODE_UNKNOWN_VERSION: 10,
  DECODE_UNKNOWN_TYPE: 10,
  DECODE_BAD_LENGTH: 10,
  DECODE_BAD_UTF8: 10,
  ENVELOPE_REPLAY: 5,
  ENVELOPE_STALE: 2,
  FUTURE_ROUND: 2,
  ROUND_RESERVED: 5,
  ENVELOPE_WRONG_RECIPIENT: 5,
  ENVELOPE_NOT_PARTICIPANT: 5,
  PROPOSAL_INVALID: 10,
}

interface PeerBudget {
  /** Units received (one token each), on the runtime's one bucket, charged into debt. */
  units: TokenBucket
  /** Bytes received. */
  bytes: TokenBucket
  overSince: number | undefined
  penalty: number
  penaltyAt: number
  bannedUntil: number
}

/** What a charge decided. */
export type Charge =
  | { verdict: 'ok' }
  | { verdict: 'throttle'; waitMs: number }
  | { verdict: 'ban'; reason: string }

/** Per-peer budgets and penalties. */
export class PeerGuard {
  private readonly peers = new Map<PartyId, PeerBudget>()

  /**
   * @param penalized told of every penalty given (the counters' `penaltyPoints`), before the
   *   score decays
   */
  constructor(
    private readonly limits: Limits,
    private readonly now: () => number,
    private readonly penalized: (peer: PartyId, points: number) => void = () => undefined,
  ) {}

  private budget(peer: PartyId): PeerBudget {
    let b = this.peers.get(peer)
    if (!b) {
      const t = this.now()
      const { peerMessagesPerSecond: mps, peerBytesPerSecond: bps, peerBurstSeconds: burst } = this.limits
      b = {
        units: new TokenBucket({ ratePerSecond: mps, capacity: mps * burst, now: this.now }),
        bytes: new TokenBucket({ ratePerSecond: bps, capacity: bps * burst, now: this.now }),
        overSince: undefined,
        penalty: 0,
        penaltyAt: t,
        bannedUntil: 0,
      }
      this.peers.set(peer, b)
    }
    return b
  }

  /** Is `peer` refused right now? */
  banned(peer: PartyId): boolean {
    return (this.peers.get(peer)?.bannedUntil ?? 0) > this.now()
  }

  /** Refuse `peer` for the cool-down. */
  ban(peer: PartyId): void {
    const b = this.budget(peer)
    b.bannedUntil = this.now() + this.limits.banMs
    b.penalty = 0
    b.overSince = undefined
  }

  /** Charge one received unit of `size` bytes against the peer's buckets. */
  charge(peer: PartyId, size: number): Charge {
    const b = this.budget(peer)
    const t = this.now()
    const units = b.units.charge(1)
    const bytes = b.bytes.charge(size)
    if (units >= 0 && bytes >= 0) {
      b.overSince = undefined
      return { verdict: 'ok' }
    }
    b.overSince ??= t
    if (t - b.overSince > this.limits.throttleGraceMs) {
      return { verdict: 'ban', reason: `over its rate limits for ${t - b.overSince} ms` }
    }
    const waitMs = Math.max(b.units.msUntil(0), b.bytes.msUntil(0))
    return { verdict: 'throttle', waitMs: Math.ceil(waitMs) }
  }

  /** Add the weight of a refusal; true when the peer crossed the threshold. */
  penalize(peer: PartyId, code: ErrorCode): boolean {
    const b = this.budget(peer)
    const t = this.now()
    b.penalty *= 0.5 ** ((t - b.penaltyAt) / 60_000)
    b.penaltyAt = t
    const points = WEIGHTS[code] ?? 1
    b.penalty += points
    this.penalized(peer, points)
    return b.penalty >= this.limits.penaltyThreshold
  }

  /** The current penalty score of `peer`. */
  penalty(peer: PartyId): number {
    return this.peers.get(peer)?.penalty ?? 0
  }
}
