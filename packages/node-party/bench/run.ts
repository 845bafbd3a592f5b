/**
 * `pnpm bench`: Conclave against the raw @roamhq/wrtc data channel, on loopback, with every
 * party in its own process. Never part of the tests.
 *
 * The orchestrator starts a signaling server (a child process), spawns the benchmark children
 * (`raw-peer.ts`, `conclave-peer.ts`, `signaling-load.ts`), drives them over stdin/stdout JSON
 * lines, computes min / median / max over the repetitions, and writes `docs/benchmarks.json`
 * and `docs/benchmarks.md`. See `README.md` next to this file for what each figure means.
 *
 * This file is the entry: `config.ts` reads the environment, `children.ts` drives the children
 * (node-party's JSON-lines child driver), `proc.ts` reads `/proc`, `sections/` holds one file per
 * section, `results.ts` collects the figures and `report.ts` writes them.
 *
 * Environment (all optional):
 * - `BENCH_REPS` repetitions of every figure (default 3, at least 3 for the report)
 * - `BENCH_ONLY` comma-separated sections to run: `pair,phases,probes,mesh,sum,frost,signaling,relink`
 *   (`sum` is the protocols among 5 parties: secure-sum and FROST 3-of-5; `frost` is FROST
 *   alone; a partial run writes nothing to docs/ unless `BENCH_OUT` is set)
 * - `BENCH_OUT` directory to write benchmarks.json / benchmarks.md to (default `docs/`)
 * - `BENCH_CPU_PROF` directory: run the Conclave children under `node --cpu-prof` there
 * - `BENCH_NODE_ARGS` extra `node` flags, space-separated, for the Conclave children
 *   `BENCH_CPU_PROF` profiles (diagnosis: `--trace-gc` shows with `BENCH_VERBOSE=1`); such a run
 *   writes nothing to docs/ unless `BENCH_OUT` is set
 * - `BENCH_VERBOSE=1` forward the children's stderr; `BENCH_TRACE=1` the Conclave children's
 *   party events on it
 * - `BENCH_HIGH_WATER` bytes of wrtc buffer the senders stay under (default 4 MiB)
 * - `BENCH_PAIR` comma-separated pair figures to run: `small,large,rtt` (default all; for
 *   profiling one of them with `BENCH_CPU_PROF`)
 *
 * Every child is killed by its PID when done, on error and on timeout; the whole run has a
 * time limit too.
 * @module
 */
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import { children, guardChildren, killAll } from './children.ts'
import { PROFILE_DIR, REPS, want, wantFrost } from './config.ts'
import { report } from './report.ts'
import { fail, failures, loadAtStart, progress, t0Run } from './results.ts'
import { meshSection } from './sections/mesh.ts'
import { pairSection } from './sections/pair.ts'
import { probeSection } from './sections/probes.ts'
import { relinkSection } from './sections/relink.ts'
import { signalingSection } from './sections/signaling.ts'
import { startServer } from './server.ts'

guardChildren()

async function main(): Promise<void> {
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true })
  progress(
    `Conclave benchmark: ${REPS} repetitions, ${os.cpus().length} cores, node ${process.version}, load average ${loadAtStart.map((x) => x.toFixed(2)).join(' / ')}`,
  )
  const server = await startServer()
  progress(`signaling server (child ${server.child.pid}) at ${server.url}`)
  try {
    if (want('pair') || want('phases')) {
      try {
        await pairSection(server)
      } catch (e) {
        fail('pair section', e)
      }
    }
    if (want('probes')) {
      try {
        await probeSection(server)
      } catch (e) {
        fail('probes', e)
      }
    }
    if (want('mesh') || want('sum') || wantFrost()) {
      try {
        await meshSection(server)
      } catch (e) {
        fail('mesh section', e)
      }
    }
    if (want('signaling')) {
      try {
        await signalingSection(server)
      } catch (e) {
        fail('signaling section', e)
      }
    }
    if (want('relink')) {
      try {
        await relinkSection()
      } catch (e) {
        fail('relink section', e)
      }
    }
  } finally {
    await Promise.all([...children].filter((c) => c !== server.child).map((c) => c.stop()))
    server.child.kill()
  }
  report(Date.now() - t0Run)
}

main()
  .then(() => {
    killAll()
    process.exit(failures.length > 0 ? 1 : 0)
  })
  .catch((e: unknown) => {
    console.error(e)
    killAll()
    process.exit(1)
  })
