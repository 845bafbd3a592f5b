/**
 * One token bucket for every rate limit of the runtime: `ratePerSecond` tokens flow in
 * continuously up to `capacity`. Two ways to spend: {@link TokenBucket.take} only when enough
 * is there (a pacer waits instead), {@link TokenBucket.charge} always, running into debt (a
 * guard that measures how far over its limit a sender is).
 * @module
 */
import { ConclaveError } from './errors.ts'

/** Settings of a {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number
  /** Most tokens held (the burst); the bucket starts full. */
  capacity: number
  /** Clock in ms. @default Date.now */
  now?: () => number
}

/**
 * A token bucket refilled continuously.
 * @example
 * ```ts
 * const events = new TokenBucket({ ratePerSecond: 75, capacity: 100 })
 * if (events.take(1)) send() else setTimeout(retry, events.msUntil(1))
 * ```
 */
export class TokenBucket {
  private rate: number
  private cap: number
  private tokens: number
  private last: number
  private readonly now: () => number

  /** @throws ConclaveError `INVALID_ARGUMENT` when `ratePerSecond` is negative or not finite, or `capacity` is negative */
  constructor(o: TokenBucketOptions) {
    this.now = o.now ?? Date.now
    this.rate = checkRate(o.ratePerSecond)
    this.cap = checkCapacity(o.capacity)
    this.tokens = this.cap
    this.last = this.now()
  }

  /**
   * Change the rate and capacity from now on (tokens already in are kept, up to the new
   * capacity). A limit announced by a server may change while the bucket is in use.
   */
  configure(ratePerSecond: number, capacity: number): void {
    this.refill()
    this.rate = checkRate(ratePerSecond)
    this.cap = checkCapacity(capacity)
    this.tokens = Math.min(this.tokens, this.cap)
  }

  /** Tokens available now (negative while in debt). */
  get available(): number {
    this.refill()
    return this.tokens
  }

  /** Take `cost` tokens if there are that many; false (and nothing taken) otherwise. */
  take(cost = 1): boolean {
    this.refill()
    if (this.tokens < cost) return false
    this.tokens -= cost
    return true
  }

  /** Spend `cost` tokens whether or not they are there; returns what is left (negative: debt). */
  charge(cost: number): number {
    this.refill()
    this.tokens -= cost
    return this.tokens
  }

  /** Ms until `cost` tokens are there (0: now; a cost over the capacity never fits). */
  msUntil(cost = 1): number {
    this.refill()
    if (this.tokens >= cost) return 0
    return this.rate === 0 ? Number.POSITIVE_INFINITY : ((cost - this.tokens) / this.rate) * 1000
  }

  private refill(): void {
    const t = this.now()
    const dt = Math.max(0, t - this.last) / 1000
    this.last = t
    this.tokens = Math.min(this.cap, this.tokens + dt * this.rate)
  }
}

function checkRate(v: number): number {
  // 0 is a fixed budget that never refills (a limit of 0 in `Limits` means exactly that)
  if (!(v >= 0) || !Number.isFinite(v)) {
    throw new ConclaveError('INVALID_ARGUMENT', `"ratePerSecond" expected a finite number ≥ 0, got ${v}`)
  }
  return v
}

function checkCapacity(v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) {
    throw new ConclaveError('INVALID_ARGUMENT', `"capacity" expected a number ≥ 0, got ${v}`)
  }
  return v
}
