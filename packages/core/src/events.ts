/**
 * A tiny typed event emitter: `on(name, fn)` returns the unsubscribe function.
 * @module
 */

/** Map of event names to payload types. */
export type EventMap = { [name: string]: unknown }

/** Subscribe side of an emitter. */
export interface Events<M extends EventMap> {
  /** Call `handler` with every `name` event from now on; returns the function that unsubscribes it. */
  on<K extends keyof M & string>(name: K, handler: (payload: M[K]) => void): () => void
}

/** A typed emitter. A throwing handler never breaks the emitter or other handlers. */
export class Emitter<M extends EventMap> implements Events<M> {
  private readonly handlers = new Map<keyof M, Set<(payload: never) => void>>()

  /** Call `handler` with every `name` event from now on; returns the function that unsubscribes it. */
  on<K extends keyof M & string>(name: K, handler: (payload: M[K]) => void): () => void {
    let set = this.handlers.get(name)
    if (!set) {
      set = new Set()
      this.handlers.set(name, set)
    }
    set.add(handler as (payload: never) => void)
    return () => set.delete(handler as (payload: never) => void)
  }

  /**
   * Call every handler of `name` with `payload`, in the order they subscribed. A handler that
   * throws does not stop the others: its error is rethrown in a microtask.
   */
  emit<K extends keyof M & string>(name: K, payload: M[K]): void {
    const set = this.handlers.get(name)
    if (!set) return
    for (const h of [...set]) {
      try {
        ;(h as (p: M[K]) => void)(payload)
      } catch (e) {
        queueMicrotask(() => {
          throw e
        })
      }
    }
  }

  /** Unsubscribe every handler of every event. */
  clear(): void {
    this.handlers.clear()
  }
}
