/**
 * Tiny DOM helpers: an element builder, short forms of ids, and a one-frame render scheduler.
 * The page has no framework; each view owns its subtree and redraws it on change.
 * @module
 */

/** Attributes of {@link h}: `dataset` entries, `testid` (→ data-testid), properties, listeners. */
export interface Attrs {
  class?: string
  testid?: string
  title?: string
  text?: string
  dataset?: Record<string, string>
  attrs?: Record<string, string>
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void }
}

/** Create an element with attributes and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (attrs.class) el.className = attrs.class
  if (attrs.testid) el.dataset.testid = attrs.testid
  if (attrs.title) el.title = attrs.title
  if (attrs.text !== undefined) el.textContent = attrs.text
  for (const [k, v] of Object.entries(attrs.dataset ?? {})) el.dataset[k] = v
  for (const [k, v] of Object.entries(attrs.attrs ?? {})) el.setAttribute(k, v)
  for (const [name, fn] of Object.entries(attrs.on ?? {})) el.addEventListener(name, fn as EventListener)
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}

/** The element with `id`, typed. @throws Error when the page lacks it (a bug in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id)
  if (!el) throw new Error(`index.html has no #${id}`)
  return el as T
}

/** The short form of a PartyId or SessionId: its first 8 hex digits. */
export function short(id: string): string {
  return id.slice(0, 8)
}

/** `hh:mm:ss` of a timestamp (ms). */
export function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8)
}

/**
 * Coalesce redraws into one per animation frame, and at most one per `minIntervalMs`: a burst of
 * events (2,000 messages) costs a handful of layouts instead of one per event. A hidden tab gets
 * no frames: it redraws on a timer instead, so that it is up to date when shown.
 */
export function frameScheduler(draw: () => void, minIntervalMs = 0): () => void {
  let queued = false
  let last = 0
  const run = (): void => {
    queued = false
    last = performance.now()
    draw()
  }
  return () => {
    if (queued) return
    queued = true
    const wait = Math.max(0, last + minIntervalMs - performance.now())
    if (document.hidden) setTimeout(run, Math.max(wait, 100))
    else if (wait > 0) setTimeout(() => requestAnimationFrame(run), wait)
    else requestAnimationFrame(run)
  }
}
