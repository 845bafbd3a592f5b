/**
 * Per-session inboxes keyed by (from, round, kind, broadcast|direct), with waiters, and the
 * signed broadcast units of the session's peers kept for the echo step of consistent broadcast.
 * What an inbox holds is bounded per sender in messages (this session) and in bytes (the host's
 * budgets, shared by all sessions: one sender's share first, all senders' total second); it
 * gives everything back to the budgets when the session ends.
 * @module
 */
import { type BudgetOver, ByteBudget, ENTRY_CHARGE } from '../byte-budget.ts'
import { ConclaveError } from '../errors.ts'
import type { PartyId } from '../ids.ts'

/** Which slot of the inbox. */
export interface InboxKey {
  from: PartyId
  round: number
  kind: string
  broadcast: boolean
}

function keyOf(k: InboxKey): string {
  return `${k.from}|${k.round}|${k.broadcast ? 'b' : 'd'}|${k.kind}`
}

interface Waiter {
  resolve(body: Uint8Array): void
  reject(e: unknown): void
}

/** The host's byte budgets an inbox charges (shared by every session of the host). */
export interface InboxBudgets {
  /** Unconsumed message bodies (`inboxBytesPerSender`, `inboxBytesTotal`). */
  bodies: ByteBudget<PartyId>
  /** Peers' signed broadcast units kept for the echo step (`keptBroadcast*`). */
  kept: ByteBudget<PartyId>
}

/** Budgets that bound nothing (an inbox made outside a host). */
export function unboundedInboxBudgets(): InboxBudgets {
  return { bodies: new ByteBudget(Infinity, Infinity), kept: new ByteBudget(Infinity, Infinity) }
}

/** What {@link Inbox.keep} did with a unit. */
export type KeepResult = 'kept' | 'duplicate' | BudgetOver

/** The inboxes of one session. */
export class Inbox {
  private readonly slots = new Map<string, Uint8Array[]>()
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly heldPerSender = new Map<PartyId, number>()
  /** Bytes of bodies held, and of units kept, per sender: what this inbox charged the budgets. */
  private readonly charged = new Map<PartyId, { bodies: number; kept: number }>()
  /** Peers' first signed broadcast unit of each `from|round|kind`. */
  private readonly keptUnits = new Map<string, Uint8Array>()
  private failure: unknown
  private readonly roomWaiters = new Map<PartyId, (() => void)[]>()

  constructor(
    private readonly perSender: number,
    private readonly budgets: InboxBudgets = unboundedInboxBudgets(),
  ) {}

  /** Messages held, not yet received, from `from`. */
  held(from: PartyId): number {
    return this.heldPerSender.get(from) ?? 0
  }

  /**
   * Deliver a body to its slot (or straight to a waiter).
   * @throws ConclaveError `INBOX_FULL` when the sender already has `perSender` unconsumed messages,
   *   or its body does not fit the byte budgets (`details.over`: `sender` or `total`)
   */
  put(key: InboxKey, body: Uint8Array): void {
    const k = keyOf(key)
    const w = this.waiters.get(k)
    if (w && w.length > 0) {
      w.shift()!.resolve(body)
      if (w.length === 0) this.waiters.delete(k)
      return
    }
    const held = this.held(key.from)
    if (held >= this.perSender) {
      throw new ConclaveError(
        'INBOX_FULL',
        `inbox for ${key.from.slice(0, 16)}… holds ${held} unconsumed messages`,
        { from: key.from },
      )
    }
    const over = this.budgets.bodies.charge(key.from, body.length)
    if (over) {
      throw new ConclaveError(
        'INBOX_FULL',
        `a body of ${body.length} bytes from ${key.from.slice(0, 16)}… is over the inbox byte budget (${over === 'sender' ? 'its share' : 'all senders'})`,
        { from: key.from, over },
      )
    }
    this.account(key.from).bodies += body.length
    this.heldPerSender.set(key.from, held + 1)
    let slot = this.slots.get(k)
    if (!slot) {
      slot = []
      this.slots.set(k, slot)
    }
    slot.push(body)
  }

  /** Take the next body of a slot if one is there (no waiting, no promise). */
  tryTake(key: InboxKey): Uint8Array | undefined {
    if (this.failure) return undefined
    const k = keyOf(key)
    const slot = this.slots.get(k)
    if (!slot || slot.length === 0) return undefined
    const body = slot.shift()!
    if (slot.length === 0) this.slots.delete(k)
    this.heldPerSender.set(key.from, this.held(key.from) - 1)
    this.account(key.from).bodies -= body.length
    this.budgets.bodies.release(key.from, body.length)
    const waiting = this.roomWaiters.get(key.from)
    if (waiting) {
      this.roomWaiters.delete(key.from)
      for (const w of waiting) w()
    }
    return body
  }

  /**
   * Take the next body of a slot, waiting for it. The promise has a `cancel(reason)` that
   * withdraws exactly this wait (not another one on the same slot).
   */
  take(key: InboxKey): Promise<Uint8Array> & { cancel(reason: unknown): void } {
    const noop = { cancel: (): void => undefined }
    if (this.failure) return Object.assign(Promise.reject(this.failure), noop)
    const k = keyOf(key)
    const ready = this.tryTake(key)
    if (ready !== undefined) return Object.assign(Promise.resolve(ready), noop)
    let waiter: Waiter | undefined
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      let list = this.waiters.get(k)
      if (!list) {
        list = []
        this.waiters.set(k, list)
      }
      waiter = { resolve, reject }
      list.push(waiter)
    })
    return Object.assign(promise, {
      cancel: (reason: unknown): void => {
        const list = this.waiters.get(k)
        const i = list && waiter ? list.indexOf(waiter) : -1
        if (i < 0) return
        list!.splice(i, 1)
        if (list!.length === 0) this.waiters.delete(k)
        waiter!.reject(reason)
      },
    })
  }

  /**
   * Put a body back at the head of its slot (a take that resolved after its wait was over). It
   * had room when it was admitted, so it is charged again even over the budget (by at most the
   * bodies of that one wait).
   */
  putBack(key: InboxKey, body: Uint8Array): void {
    if (this.failure) return
    const k = keyOf(key)
    const w = this.waiters.get(k)
    if (w && w.length > 0) {
      w.shift()!.resolve(body)
      if (w.length === 0) this.waiters.delete(k)
      return
    }
    const slot = this.slots.get(k)
    if (slot) slot.unshift(body)
    else this.slots.set(k, [body])
    this.heldPerSender.set(key.from, this.held(key.from) + 1)
    this.budgets.bodies.force(key.from, body.length)
    this.account(key.from).bodies += body.length
  }

  /**
   * Hold a body the outbox store kept across a restart. It was acknowledged, so it is kept even
   * over the limits (which may have been lowered since).
   */
  restore(key: InboxKey, body: Uint8Array): void {
    const k = keyOf(key)
    const slot = this.slots.get(k)
    if (slot) slot.push(body)
    else this.slots.set(k, [body])
    this.heldPerSender.set(key.from, this.held(key.from) + 1)
    this.budgets.bodies.force(key.from, body.length)
    this.account(key.from).bodies += body.length
  }

  /**
   * True when a body of `bytes` from `from` fits: fewer than `perSender` unconsumed messages of
   * it here, and the bytes within its share and the total of the byte budget.
   */
  hasRoom(from: PartyId, bytes: number): boolean {
    return this.held(from) < this.perSender && this.budgets.bodies.over(from, bytes) === undefined
  }

  /**
   * Resolves when a body of `bytes` from `from` may fit again (or the inbox failed): the caller
   * checks {@link hasRoom} again, and may wait again.
   */
  waitForRoom(from: PartyId, bytes: number): Promise<void> {
    if (this.failure) return Promise.resolve()
    if (this.held(from) < this.perSender) return this.budgets.bodies.waitForRoom(from, bytes)
    return new Promise((resolve) => {
      let list = this.roomWaiters.get(from)
      if (!list) {
        list = []
        this.roomWaiters.set(from, list)
      }
      list.push(resolve)
    })
  }

  /**
   * Keep `unit`, the signed broadcast of `from` at `slot` (`from|round|kind`), for the echo
   * step, unless one is kept there already or it does not fit the kept-broadcast budget (charged
   * its bytes and {@link ENTRY_CHARGE}).
   */
  keep(slot: string, from: PartyId, unit: Uint8Array): KeepResult {
    if (this.failure || this.keptUnits.has(slot)) return 'duplicate'
    const charge = unit.length + ENTRY_CHARGE
    const over = this.budgets.kept.charge(from, charge)
    if (over) return over
    this.keptUnits.set(slot, unit)
    this.account(from).kept += charge
    return 'kept'
  }

  /** The unit kept at `slot`, if any. */
  kept(slot: string): Uint8Array | undefined {
    return this.keptUnits.get(slot)
  }

  /**
   * Fail every pending and future take with `e`, and give every byte held back to the budgets
   * (waits for room wake up: the unit they hold may now be late).
   */
  fail(e: unknown): void {
    this.failure = e
    for (const list of this.roomWaiters.values()) for (const w of list) w()
    this.roomWaiters.clear()
    for (const list of this.waiters.values()) for (const w of list) w.reject(e)
    this.waiters.clear()
    this.slots.clear()
    this.heldPerSender.clear()
    this.keptUnits.clear()
    for (const [from, c] of this.charged) {
      this.budgets.bodies.release(from, c.bodies)
      this.budgets.kept.release(from, c.kept)
    }
    this.charged.clear()
    this.budgets.bodies.wake()
  }

  private account(from: PartyId): { bodies: number; kept: number } {
    let c = this.charged.get(from)
    if (!c) {
      c = { bodies: 0, kept: 0 }
      this.charged.set(from, c)
    }
    return c
  }
}
