/**
 * A bounded wait, for what a probe or a scrape asks a store that may be away.
 * @module
 */

/**
 * `promise`'s value, or undefined when it rejects or takes longer than `ms` (its later outcome is
 * then ignored, a rejection included).
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined)
  })
  return Promise.race([promise.catch(() => undefined), late]).finally(() => clearTimeout(timer))
}
