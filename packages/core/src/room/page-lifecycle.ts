/**
 * A browser page's path hints (DESIGN "Connections"): the events after which a tab's links may
 * have lost their path, each sent to the transport as a hint, so that a backgrounded, frozen or
 * restored tab rejoins without a reload:
 * - `online` (window): the network came back → `network`;
 * - `pageshow` with `persisted` (window): restored from the back/forward cache → `resumed`;
 * - `resume` (document): unfrozen after `freeze` → `resumed`;
 * - `visibilitychange` to `visible` (document): back in the foreground, where timers may have
 *   been throttled while hidden → `resumed`.
 *
 * After each, every pending backoff is cut short (a link whose connection failed or stays
 * `disconnected` is replaced by its own path watch); the signaling client reconnects on its own
 * (socket.io). `freeze`, `pagehide` and
 * `visibilitychange` to `hidden` need nothing here: a hidden tab keeps its session host running
 * in its Worker, which answers keepalives, so its links stay up; a frozen or cached one stops
 * answering and its peers see it as lost after `lostAfterMs` (telling them "away" instead
 * needs a wire change: see docs/DESIGN.md "Connections").
 * @module
 */
import type { PathHintSource } from './path-hints.ts'

/** The part of an event target a page lifecycle watch uses (the window, the document). */
export interface LifecycleTarget {
  addEventListener(type: string, listener: (event: unknown) => void): void
  removeEventListener(type: string, listener: (event: unknown) => void): void
}

/** Where a page's lifecycle events come from. */
export interface PageLifecycleTargets {
  /** Fires `online` and `pageshow` (the page's `window`). */
  window: LifecycleTarget
  /** Fires `visibilitychange`, `freeze` and `resume` (the page's `document`); absent in a Worker. */
  document?: LifecycleTarget & { readonly visibilityState?: string }
}

/**
 * The page lifecycle events of `targets` as a source of path hints (see the module comment).
 * @example
 * ```ts
 * watchPageLifecycle({ window, document })((hint) => transport.pathHint?.(hint))
 * ```
 */
export function watchPageLifecycle(targets: PageLifecycleTargets): PathHintSource {
  return (hint) => {
    const { window: win, document: doc } = targets
    const listeners: [LifecycleTarget, string, (event: unknown) => void][] = [
      [win, 'online', () => hint({ reason: 'network' })],
      [
        win,
        'pageshow',
        (event) => {
          if ((event as { persisted?: unknown } | undefined)?.persisted === true) hint({ reason: 'resumed' })
        },
      ],
    ]
    if (doc) {
      listeners.push(
        [doc, 'resume', () => hint({ reason: 'resumed' })],
        [
          doc,
          'visibilitychange',
          () => {
            if (doc.visibilityState === 'visible') hint({ reason: 'resumed' })
          },
        ],
      )
    }
    for (const [target, type, listener] of listeners) target.addEventListener(type, listener)
    return () => {
      for (const [target, type, listener] of listeners) target.removeEventListener(type, listener)
    }
  }
}

/**
 * The lifecycle targets of the global scope: the window and its document on a page, the global
 * scope alone in a Worker (it fires `online` too), none where there is no event target.
 */
export function globalLifecycleTargets(): PageLifecycleTargets | undefined {
  const g = globalThis as unknown as Partial<LifecycleTarget> & {
    document?: PageLifecycleTargets['document']
  }
  if (typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function')
    return undefined
  const win = g as LifecycleTarget
  const doc = g.document
  return doc && typeof doc.addEventListener === 'function' ? { window: win, document: doc } : { window: win }
}
