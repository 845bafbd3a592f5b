/**
 * One byte budget for every buffer that holds bytes from peers (DESIGN "Connections", byte
 * budgets): what one sender holds is checked against its share first, then what all senders
 * hold together against the total, so one sender filling its share never costs another its
 * room. Bytes are charged when they are admitted and released when they are consumed or
 * dropped; the budget keeps high-water marks, so a test or an operator can see that it never
 * ran over (`Counters.snapshot().buffers`).
 * @module
 */

/**
 * Bytes charged for each entry a budgeted buffer keeps (a held envelope, a kept unit, a pending
 * proposal) beside its own bytes: the objects and keys that hold it (a decoded envelope's take
 * about 0.5 KiB). Without it a flood of small units would hold several times its budget.
 */
export const ENTRY_CHARGE = 512

/** Which share a charge would overrun: the sender's own, or the total of all senders. */
export type BudgetOver = 'sender' | 'total'

/** What a budget holds and has held (plain data). */
export interface BudgetUsage {
  /** Bytes held now, all senders together. */
  bytes: number
  /** Most bytes held at once, all senders together. */
  peakBytes: number
  /** Most bytes one sender held at once. */
  peakSenderBytes: number
  /** The budget of one sender. */
  perSender: number
  /** The budget of all senders together. */
  total: number
}

/** One sender's side of a budget (a link's reassembly charges its peer's). */
export interface BudgetAccount {
  /** Charge `n` bytes if they fit; else which share they would overrun (nothing charged). */
  charge(n: number): BudgetOver | undefined
  /** Give back `n` bytes charged before. */
  release(n: number): void
}

interface RoomWaiter<K> {
  from: K
  n: number
  resolve(): void
}

/**
 * Bytes held per sender and in total, each bounded.
 * @example
 * ```ts
 * const inbox = new ByteBudget<PartyId>(64 << 20, 128 << 20)
 * if (inbox.charge(peer, body.length) === undefined) keep(body) // … inbox.release(peer, body.length)
 * ```
 */
export class ByteBudget<K extends string = string> {
  private readonly held = new Map<K, number>()
  private all = 0
  private peak = 0
  private peakSender = 0
  private waiters: RoomWaiter<K>[] = []

  /**
   * @param perSender bytes one sender may hold
   * @param total bytes all senders together may hold
   */
  constructor(
    readonly perSender: number,
    readonly total: number,
  ) {}

  /** Bytes `from` holds now. */
  bytesOf(from: K): number {
    return this.held.get(from) ?? 0
  }

  /** Bytes all senders hold now. */
  get bytes(): number {
    return this.all
  }

  /** Which share `n` more bytes from `from` would overrun, its own first; undefined when they fit. */
  over(from: K, n: number): BudgetOver | undefined {
    if (this.bytesOf(from) + n > this.perSender) return 'sender'
    if (this.all + n > this.total) return 'total'
    return undefined
  }

  /** Charge `n` bytes to `from` if they fit; else which share they would overrun (nothing charged). */
  charge(from: K, n: number): BudgetOver | undefined {
    const over = this.over(from, n)
    if (over === undefined) this.add(from, n)
    return over
  }

  /**
   * Charge `n` bytes to `from` whether or not they fit: only for bytes admitted within the budget
   * once, released, and taken back (a message handed to a wait that ended in the same turn).
   */
  force(from: K, n: number): void {
    this.add(from, n)
  }

  /** Give back `n` bytes charged to `from`; waits for room that now fit are resolved. */
  release(from: K, n: number): void {
    if (n <= 0) return
    const left = this.bytesOf(from) - n
    if (left > 0) this.held.set(from, left)
    else this.held.delete(from)
    this.all = Math.max(0, this.all - n)
    if (this.waiters.length === 0) return
    const still: RoomWaiter<K>[] = []
    for (const w of this.waiters) {
      if (this.over(w.from, w.n) === undefined) w.resolve()
      else still.push(w)
    }
    this.waiters = still
  }

  /**
   * Resolves once `n` more bytes from `from` fit (checked at every release), or at {@link wake}.
   * It promises nothing: the caller charges again, and may wait again.
   */
  waitForRoom(from: K, n: number): Promise<void> {
    if (this.over(from, n) === undefined) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ from, n, resolve }))
  }

  /** Resolve every wait for room (what one waits for may be gone: a session ended). */
  wake(): void {
    const list = this.waiters
    this.waiters = []
    for (const w of list) w.resolve()
  }

  /** `from`'s side of the budget. */
  account(from: K): BudgetAccount {
    return { charge: (n) => this.charge(from, n), release: (n) => this.release(from, n) }
  }

  /** What the budget holds and has held. */
  usage(): BudgetUsage {
    return {
      bytes: this.all,
      peakBytes: this.peak,
      peakSenderBytes: this.peakSender,
      perSender: this.perSender,
      total: this.total,
    }
  }

  private add(from: K, n: number): void {
    const mine = this.bytesOf(from) + n
    this.held.set(from, mine)
    this.all += n
    if (mine > this.peakSender) this.peakSender = mine
    if (this.all > this.peak) this.peak = this.all
  }
}
