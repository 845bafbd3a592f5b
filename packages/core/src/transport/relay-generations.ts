/**
 * Relay link generations (DESIGN "Signaling server"): a random u32, drawn by the end that
 * opens, names one relay link, so that payloads of an older link never reach a newer one. Per
 * peer, the generations recently used or answered with `close` are kept, so that none is
 * reused and no stale payload is answered twice.
 * @module
 */

/** How many recent generations are kept per peer. */
export const RECENT_GENERATIONS = 16

/** The generations recently used with one peer. */
export class RecentGenerations {
  private readonly recent: number[] = []

  /** True when `generation` was used or answered recently. */
  has(generation: number): boolean {
    return this.recent.includes(generation)
  }

  /** Keep `generation` (the oldest kept one is forgotten past {@link RECENT_GENERATIONS}). */
  remember(generation: number): void {
    if (this.recent.includes(generation)) return
    this.recent.push(generation)
    if (this.recent.length > RECENT_GENERATIONS) this.recent.shift()
  }

  /** A random u32 (CSPRNG) not used recently, remembered. */
  fresh(): number {
    const buf = new Uint32Array(1)
    for (;;) {
      globalThis.crypto.getRandomValues(buf)
      const g = buf[0]!
      if (!this.recent.includes(g)) {
        this.remember(g)
        return g
      }
    }
  }
}
