/**
 * secure-sum among the connected parties (`secure_sum5_ms`), every total checked.
 * @module
 */
import { REPS } from '../config.ts'
import { type ConclaveChild, hexId, spanMs } from '../parties.ts'
import { fail, progress, record } from '../results.ts'
import { fmt } from '../stats.ts'

/** `secure_sum5_ms`: REPS runs of secure-sum among the connected `parties`, each total checked. */
export async function secureSumReps(parties: ConclaveChild[]): Promise<void> {
  const n = parties.length
  const participants = parties.map((p) => p.id)
  for (let rep = 1; rep <= REPS; rep++) {
    const sid = hexId()
    const inputs = parties.map(() => BigInt(Math.floor(Math.random() * 2e12) - 1e12))
    const expected = inputs.reduce((a, b) => a + b, 0n)
    const answers = await Promise.all(
      parties.map((p, i) =>
        p.child.ask('sum', { sid, participants, input: inputs[i]!.toString() }, 'sum', 30_000),
      ),
    )
    const bad = answers.find((a) => a.ok !== true || a.total !== expected.toString())
    if (bad) {
      fail(`secure-sum rep ${rep}`, bad.error ?? `total ${String(bad.total)} ≠ ${expected}`)
      continue
    }
    record('secure_sum5_ms', spanMs(answers))
    progress(`secure-sum among ${n} rep ${rep}/${REPS}: ${fmt(spanMs(answers))} ms (total checked)`)
  }
}
