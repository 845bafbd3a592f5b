/**
 * A tiny typed event emitter: `on(name, fn)` returns the unsubscribe function.
 * @module
 */

/** Map of event names to payload types. */
export type EventMap = { [name: string]: unknown }

/** Subscribe side of an emitter. */
export interface Events<M extends EventMap> {
  on<K extends keyof M & string>(name: K, handler: (payload: M[K]) => void): () => void
}

/** A typed emitter. A throwing handler never breaks the emitter or other handlers. */
export class Emitter<M extends EventMap> implements Events<M> {
  private readonly handlers = new Map<keyof M, Set<(payload: never) => void>>()

  on<K extends keyof M & string>(name: K, handler: (payload: M[K]) => void): () => void {
    let set = this.handlers.get(name)
    if (!set) {
      set = new Set()
      this.handlers.set(name, set)
    }
    set.add(handler as (payload: never) => void)
    return () => set.delete(handler as (payload: never) => void)
  }

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

  clear(): void {
    this.handlers.clear()
  }
}
