/**
 * A periodic sweep that runs only while something is held, and never keeps a process alive.
 * @module
 */

/** Runs `sweep` every `periodMs` while `busy()` says something is left to expire. */
export class SweepTimer {
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly periodMs: () => number,
    private readonly sweep: () => void,
    private readonly busy: () => boolean,
  ) {}

  /** Start sweeping, unless already started. */
  arm(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.sweep()
      if (this.busy()) this.arm()
    }, this.periodMs())
    // never keep a process alive just to expire what is held
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  /** Stop sweeping. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }
}
