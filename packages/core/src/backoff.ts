/**
 * Exponential backoff with jitter (DESIGN default: 250 ms doubling to 10 s, jitter 0.5).
 * @module
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** @default 250 */
  initialMs?: number
  /** @default 10000 */
  maxMs?: number
  /** @default 2 */
  factor?: number
  /** Fraction of the delay that is randomised away. @default 0.5 */
  jitter?: number
}

/** The delay before retry number `retry` (0-based). */
export function backoffDelay(
  retry: number,
  o: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = o.initialMs ?? 250
  const max = o.maxMs ?? 10_000
  const factor = o.factor ?? 2
  const jitter = o.jitter ?? 0.5
  const base = Math.min(max, initial * factor ** Math.max(0, retry))
  return Math.round(base * (1 - jitter * random()))
}
