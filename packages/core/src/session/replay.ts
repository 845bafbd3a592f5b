/**
 * Replay memory for one session: per stream `(from, to, epoch)`, every sequence number seen,
 * kept compactly as a floor (all below it seen) plus a set of those above it.
 * @module
 */

/** Remembers `(from, to, epoch, seq)` for a session's life. */
export class ReplayWindow {
  private readonly streams = new Map<string, { floor: bigint; above: Set<bigint> }>()

  /** True when the stream has been seen at all (freshness is only checked on first sight). */
  hasStream(stream: string): boolean {
    return this.streams.has(stream)
  }

  /** True when `seq` was already accepted on `stream`. */
  seen(stream: string, seq: bigint): boolean {
    const s = this.streams.get(stream)
    if (!s) return false
    return seq < s.floor || s.above.has(seq)
  }

  /** Record `seq` as accepted. */
  add(stream: string, seq: bigint): void {
    let s = this.streams.get(stream)
    if (!s) {
      s = { floor: 0n, above: new Set() }
      this.streams.set(stream, s)
    }
    if (seq < s.floor) return
    s.above.add(seq)
    while (s.above.has(s.floor)) {
      s.above.delete(s.floor)
      s.floor++
    }
  }

  /** Take up a stream's memory kept by an outbox store: every seq below `floor`, and `above`. */
  restore(stream: string, floor: bigint, above: Iterable<bigint>): void {
    this.streams.set(stream, { floor, above: new Set(above) })
  }
}
