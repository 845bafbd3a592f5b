/**
 * A token bucket: the per-socket limit on events, relay bytes and violations.
 * @module
 */

/** A token bucket refilled continuously at `ratePerSecond` up to `capacity`. */
export interface TokenBucket {
  /** Take `cost` tokens if there are that many; false (and nothing taken) otherwise. */
  take(cost?: number): boolean
  /** Tokens available now. */
  readonly available: number
}

/**
 * Create a full bucket.
 * @param now clock in ms (injectable for tests). @default Date.now
 */
export function createTokenBucket(
  capacity: number,
  ratePerSecond: number,
  now: () => number = Date.now,
): TokenBucket {
  let tokens = capacity
  let last = now()
  const refill = (): void => {
    const t = now()
    tokens = Math.min(capacity, tokens + ((t - last) * ratePerSecond) / 1000)
    last = t
  }
  return {
    take(cost = 1) {
      refill()
      if (tokens < cost) return false
      tokens -= cost
      return true
    },
    get available() {
      refill()
      return tokens
    },
  }
}
