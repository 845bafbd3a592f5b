/**
 * Per-session inboxes keyed by (from, round, kind, broadcast|direct), with waiters.
 * @module
 */
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

/** The inboxes of one session. */
export class Inbox {
  private readonly slots = new Map<string, Uint8Array[]>()
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly heldPerSender = new Map<PartyId, number>()
  private failure: unknown
  private readonly roomWaiters = new Map<PartyId, (() => void)[]>()

  constructor(private readonly perSender: number) {}

  /** Messages held, not yet received, from `from`. */
  held(from: PartyId): number {
    return this.heldPerSender.get(from) ?? 0
  }

  /**
   * Deliver a body to its slot (or straight to a waiter).
   * @throws ConclaveError `INBOX_FULL` when the sender already has `perSender` unconsumed messages
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

  /** Put a body back at the head of its slot (a take that resolved after its wait was over). */
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
  }

  /** True when `from` has `perSender` unconsumed messages and a new one would not fit. */
  isFull(from: PartyId): boolean {
    return this.held(from) >= this.perSender
  }

  /** Resolves when `from` has room again (or the inbox failed). */
  waitForRoom(from: PartyId): Promise<void> {
    if (!this.isFull(from) || this.failure) return Promise.resolve()
    return new Promise((resolve) => {
      let list = this.roomWaiters.get(from)
      if (!list) {
        list = []
        this.roomWaiters.set(from, list)
      }
      list.push(resolve)
    })
  }

  /** Fail every pending and future take with `e`. */
  fail(e: unknown): void {
    this.failure = e
    for (const list of this.roomWaiters.values()) for (const w of list) w()
    this.roomWaiters.clear()
    for (const list of this.waiters.values()) for (const w of list) w.reject(e)
    this.waiters.clear()
    this.slots.clear()
    this.heldPerSender.clear()
  }
}
