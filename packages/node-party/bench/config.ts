/**
 * The benchmark's configuration: what the environment asks for (see `run.ts`), the counts and
 * sizes of every figure, and where things are.
 * @module
 */
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** This directory, and the repository root (the children's working directory). */
export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const ROOT = resolve(BENCH_DIR, '../../..')

/** `BENCH_REPS`: repetitions of every figure. */
export const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 3) || 3)
/** `BENCH_ONLY`: the sections to run (all when unset). */
export const ONLY = process.env.BENCH_ONLY
  ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim()))
  : undefined
/**
 * Extra `node` flags for the Conclave children that `BENCH_CPU_PROF` profiles (the pair, and the
 * first party of the mesh and protocol runs): diagnosis only, e.g. `--trace-gc`.
 */
export const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0)
/** docs/ gets only a whole run with unchanged processes; otherwise only `BENCH_OUT`. */
export const OUT_DIR = process.env.BENCH_OUT
  ? resolve(process.env.BENCH_OUT)
  : ONLY || NODE_ARGS.length > 0
    ? undefined
    : join(ROOT, 'docs')
/** `BENCH_CPU_PROF`: where the profiled children write their CPU profiles. */
export const PROFILE_DIR = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined
/** `BENCH_VERBOSE=1`: forward the children's stderr. */
export const VERBOSE = process.env.BENCH_VERBOSE === '1'
/** `BENCH_PAIR`: the pair figures to run (`small`, `large`, `rtt`). */
export const PAIR_FIGURES = new Set(
  (process.env.BENCH_PAIR ?? 'small,large,rtt').split(',').map((s) => s.trim()),
)
/** The whole run stops (children killed) past this. */
export const RUN_LIMIT_MS = 12 * 60_000

/** Counts, sizes and limits of every figure (written into the report as `config`). */
export const CONFIG = {
  reps: REPS,
  small: { n: 100_000, size: 256 },
  large: { n: 1_500, size: 64 * 1024 },
  rtt: { n: 2_000, warmup: 100, size: 32 },
  /**
   * µs of busy work the raw echo does before replying, for the reference round trip: about what
   * Conclave's echoing party spends on a message (its receive and send paths).
   */
  busyEchoUs: 250,
  /** Untimed transfers before the repetitions (both raw and Conclave). */
  warmup: { small: 40_000, large: 150 },
  /** The raw sender and the bench's Conclave sender keep wrtc's bufferedAmount under this. */
  highWater: Number(process.env.BENCH_HIGH_WATER ?? 4 * 1024 * 1024),
  /** session.send calls in flight before the Conclave sender awaits them (per size). */
  batch: { small: 1_000, large: 16 },
  /**
   * Conclave messages sent beyond what the receiving application has read (it sends a credit
   * every `creditEvery`): below the retransmit buffer's bounds (10,000 units, 64 MiB per peer).
   */
  window: { small: 16_000, large: 128 },
  creditEvery: { small: 2_000, large: 16 },
  /**
   * Whether the bench's Conclave sender also keeps wrtc's buffer under `highWater` between
   * batches. It need not: the link holds frames back itself past 8 MiB (DESIGN "Connections",
   * backpressure), and each read of `bufferedAmount` blocks on wrtc's signaling thread as long as a
   * send() does (~1 ms when the transfer keeps it busy).
   */
  watch: { small: false, large: false },
  meshSizes: [2, 4, 8],
  sumParties: 5,
  /** FROST among the `sumParties` parties: key generation with this threshold, then `signers` sign. */
  frost: { threshold: 3, signers: 3 },
  signaling: { parties: 1_000, pairs: 100, perSender: 150, pauseMs: 2_200 },
  /**
   * The relink section: the direct path cut for `cutMs`, each party sending a message every
   * `intervalMs`, `messages` in all (the cut starts once 50 have arrived each way).
   */
  relink: { cutMs: 5000, messages: 400, intervalMs: 20 },
  /** Pause before and between stopping one party and the next (see bringDown). */
  downGapMs: 300,
  /** Time limit of one transfer (each loop also stops by its count). */
  transferMaxMs: 60_000,
}

/** Whether section `section` runs. */
export const want = (section: string): boolean => !ONLY || ONLY.has(section)
/** FROST runs with the other protocols (`sum`) or alone (`frost`). */
export const wantFrost = (): boolean => want('sum') || want('frost')

/** A bench script's path from the repository root (the children's working directory). */
export const script = (name: string): string => relative(ROOT, join(BENCH_DIR, name))
