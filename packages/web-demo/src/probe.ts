/**
 * Responsiveness probes. The page's heavy work (signing, strict verification, AEAD, inboxes) runs
 * in the Worker; these show that the main thread stays free:
 * - a button whose click handler reports how long the click waited for the main thread
 *   (`performance.now()` in the handler minus the event's `timeStamp`, taken when the input
 *   arrived), shown in the DOM with the largest value seen;
 * - a meter of the longest main-thread task of the last 10 seconds (Long Tasks API).
 * @module
 */

/** Wire the click-latency probe: `button` clicks are measured into `output`. */
export function clickLatencyProbe(button: HTMLButtonElement, output: HTMLElement): void {
  let max = 0
  let clicks = 0
  button.addEventListener('click', (ev) => {
    const ms = Math.max(0, performance.now() - ev.timeStamp)
    max = Math.max(max, ms)
    clicks++
    output.textContent = `${ms.toFixed(1)} ms (max ${max.toFixed(1)} ms over ${clicks} click${clicks === 1 ? '' : 's'})`
    output.dataset.ms = ms.toFixed(2)
    output.dataset.max = max.toFixed(2)
    output.dataset.clicks = String(clicks)
  })
}

/**
 * Show the longest main-thread task of the last 10 s in `output` (Long Tasks API: tasks over
 * 50 ms). Where the API is missing, the meter stays hidden.
 */
export function longTaskMeter(output: HTMLElement): void {
  const WINDOW = 10_000
  const seen: { at: number; ms: number }[] = []
  const show = (): void => {
    const now = performance.now()
    while (seen.length > 0 && seen[0]!.at < now - WINDOW) seen.shift()
    const worst = seen.reduce((m, t) => Math.max(m, t.ms), 0)
    output.textContent =
      worst === 0
        ? 'main thread: no long task in the last 10 s'
        : `main thread: longest task ${Math.round(worst)} ms (last 10 s)`
    output.dataset.ms = worst.toFixed(0)
  }
  if (!PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
    output.hidden = true
    return
  }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) seen.push({ at: e.startTime + e.duration, ms: e.duration })
    show()
  }).observe({ type: 'longtask', buffered: true })
  setInterval(show, 2000)
  show()
}
