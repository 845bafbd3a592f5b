/**
 * Small statistics helpers of the benchmark: summaries of repetitions (min / median / max),
 * percentiles of samples, and number formatting for the markdown report.
 * @module
 */

/** min / median / max of the repetitions of one figure, and every value. */
export interface Summary {
  n: number
  min: number
  median: number
  max: number
  values: number[]
}

/** Sort a copy ascending. */
function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

/**
 * The `p`-th percentile (0 ≤ p ≤ 100) with linear interpolation between closest ranks.
 * NaN for no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const s = sorted(values)
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  const a = s[lo]!
  const b = s[hi]!
  return a + (b - a) * (rank - lo)
}

/** The median (the mean of the two middle values for an even count). NaN for no values. */
export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** Summarise the values of one figure over its repetitions (non-finite values are dropped). */
export function summarize(values: readonly number[]): Summary {
  const ok = values.filter((v) => Number.isFinite(v))
  if (ok.length === 0) return { n: 0, min: Number.NaN, median: Number.NaN, max: Number.NaN, values: [] }
  const s = sorted(ok)
  return { n: s.length, min: s[0]!, median: median(s), max: s[s.length - 1]!, values: [...ok] }
}

/** Round to `digits` significant figures for the JSON (keeps small numbers readable). */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value
  const magnitude = Math.floor(Math.log10(Math.abs(value)))
  const factor = 10 ** (digits - 1 - magnitude)
  return Math.round(value * factor) / factor
}

/** Format a number for the markdown table: thousands separated, a sensible number of decimals. */
export function fmt(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  const abs = Math.abs(value)
  const decimals = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
}
