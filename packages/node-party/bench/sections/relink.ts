/**
 * The relink section (issue #20): how fast messages flow again once a lost direct path is back.
 * Two Conclave parties, each in its own network namespace, joined by a veth pair whose addresses
 * exist only inside them; the signaling server runs inside the first namespace on a second veth
 * pair that stays up (`test/fixtures/netns.ts`, `test/fixtures/relink-run.ts`, shared with
 * relink.node.test.ts). Each party sends the other a numbered message every 20 ms in one session.
 * - `relink_after_path_loss_ms`: the data veth is taken down for 5 s and brought back up; from
 *   the `ip link set … up` to the first message received after it, the later of the two
 *   directions;
 * - `relink_after_address_change_ms`: one party moves to another address on the data veth (a
 *   machine that changed networks); from the move to the end of the longest pause in what each
 *   party receives, the later of the two.
 * Every repetition must deliver every message in order, once, or it is a failure, not a figure.
 * Needs root and `ip netns`: otherwise the section is skipped, with a note saying why.
 * @module
 */
import { netnsUnavailable } from '../../test/fixtures/netns.ts'
import { type RelinkRunOptions, type RelinkRunResult, relinkRun } from '../../test/fixtures/relink-run.ts'
import { CONFIG, REPS, VERBOSE } from '../config.ts'
import { details, fail, notes, progress, record } from '../results.ts'
import { fmt, round } from '../stats.ts'

/** What went wrong with a run's deliveries, or undefined when each party got 0 … n − 1 in order, once. */
function deliveryFault(r: RelinkRunResult, n: number): string | undefined {
  for (const [side, got] of r.received.entries()) {
    const wrong = got.findIndex((v, i) => v !== i)
    if (got.length !== n || wrong >= 0)
      return `party ${side === 0 ? 'a' : 'b'} received ${got.length} of ${n}${wrong >= 0 ? `, #${wrong} was ${got[wrong]}` : ''}`
  }
  return undefined
}

/** The codes each side's links closed with, for the details. */
const closes = (r: RelinkRunResult): string[][] =>
  r.closes.map((list) => list.map((l) => `${l.kind} ${l.code}`))

/** One figure: `REPS` runs, each recorded as its later direction. */
async function figure(name: string, title: string, o: RelinkRunOptions): Promise<void> {
  progress(title)
  const runs: Record<string, unknown>[] = []
  for (let rep = 1; rep <= REPS; rep++) {
    try {
      const r = await relinkRun({
        ...o,
        ...(VERBOSE ? { onStderrLine: (who, line) => process.stderr.write(`  [${who}] ${line}\n`) } : {}),
      })
      const fault = deliveryFault(r, o.messages ?? 0)
      if (fault) throw new Error(fault)
      const ms = Math.max(...r.relinkMs)
      if (!Number.isFinite(ms)) throw new Error('no message after the path came back')
      record(name, ms)
      runs.push({ ms: r.relinkMs.map((x) => round(x)), closes: closes(r) })
      progress(
        `  rep ${rep}: messages again after ${fmt(r.relinkMs[0])} / ${fmt(r.relinkMs[1])} ms (links closed: ${closes(
          r,
        )
          .map((c) => c.join(', ') || 'none')
          .join(' | ')})`,
      )
    } catch (e) {
      fail(`${name} rep ${rep}`, e)
    }
  }
  details[name] = runs
}

/** The path-loss figures, each repetition in a fresh pair of namespaces. */
export async function relinkSection(): Promise<void> {
  progress('── relink: a lost direct path, two parties in two network namespaces ──')
  const why = netnsUnavailable()
  if (why) {
    notes.push(`relink section not run: ${why}`)
    progress(`  skipped: ${why}`)
    return
  }
  const { cutMs, messages, intervalMs } = CONFIG.relink
  await figure('relink_after_path_loss_ms', `direct path cut for ${fmt(cutMs)} ms, then restored`, {
    transport: 'webrtc',
    event: 'cut',
    cutMs,
    messages,
    intervalMs,
  })
  await figure('relink_after_address_change_ms', 'one party moves to another address', {
    transport: 'webrtc',
    event: 'move',
    messages,
    intervalMs,
  })
}
