/**
 * A bounded, append-only list view: entries are queued and drawn at most every 150 ms, on an
 * animation frame; only the newest `keep` stay in the DOM and at most `perFrame` are built per
 * draw (a burst of thousands skips straight to its newest entries), so a burst costs a few
 * small layouts.
 * @module
 */
import { frameScheduler } from './dom.ts'

/** A list that shows the newest entries first. */
export class LogView {
  private queued: (() => HTMLElement)[] = []
  private readonly flush = frameScheduler(() => this.draw(), 150)
  /** Entries ever appended. */
  total = 0

  constructor(
    private readonly list: HTMLElement,
    private readonly keep = 100,
    private readonly counter?: HTMLElement,
    private readonly perFrame = 20,
  ) {}

  /** Queue an entry; `make` runs only if the entry is still among the newest at the next frame. */
  append(make: () => HTMLElement): void {
    this.total++
    this.queued.push(make)
    if (this.queued.length > this.perFrame) this.queued.splice(0, this.queued.length - this.perFrame)
    this.flush()
  }

  private draw(): void {
    const fresh = this.queued.reverse().map((make) => make())
    this.queued = []
    this.list.querySelector(':scope > .empty')?.remove()
    this.list.prepend(...fresh)
    while (this.list.childElementCount > this.keep) this.list.lastElementChild?.remove()
    if (this.counter) {
      this.counter.textContent = String(this.total)
      this.counter.dataset.count = String(this.total)
    }
  }
}
