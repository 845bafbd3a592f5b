/**
 * The soak (`pnpm soak`, after `pnpm build`): does a long-running party or signaling server stay
 * flat in memory? (#16 item 12.) One `conclave-signal` and three `conclave-party run --serve`
 * parties (the built CLIs, loopback only; two with the session host in a Worker, one
 * `--in-thread`), then four-party secure-sums back to back, each proposed by a fresh
 * `conclave-party` process with a fresh identity (the smallest PartyId of the four, so it
 * proposes and the serving parties join; ~1.6 s a session here, so a process per session, as a
 * real proposer is, keeps 1,000 sessions under 40 minutes).
 *
 * 1. `SOAK_SESSIONS` sessions. Every `SOAK_SAMPLE_EVERY`, after `SOAK_IDLE_MS` of quiet, every
 *    thread of the server and of each serving party runs a full garbage collection and reports
 *    its live heap (the hook `soak/heap-hook.cjs` they are started with), and the resident
 *    memory of each process is read from `/proc`. Growth per 100 sessions after `SOAK_WARMUP`:
 *    the least-squares slope of the samples.
 * 2. `SOAK_HEAP_SESSIONS` more, between two heap snapshots of every thread (taken only now: a
 *    snapshot makes the process's RSS jump once, which would blur phase 1): the live heap's
 *    growth over them, and the constructors whose live count grew most.
 *
 * Bounded: at most 5,000 + 1,000 sessions, each proposer given `SOAK_SESSION_TIMEOUT_MS`
 * (default 60 s), the whole run `SOAK_DEADLINE_SECONDS` (default 7200), stopping after more
 * than max(5, 2 %) failed sessions; every child is killed by PID at the end, on error and on
 * exit.
 *
 * Writes `docs/soak.json` and the "Soak" section of `docs/benchmarks.md` (between
 * `<!-- soak:begin -->` and `<!-- soak:end -->`, which `pnpm bench` keeps) for a run of at least
 * 1,000 sessions; a shorter run writes only with `SOAK_OUT=dir`, and `SOAK_WRITE=0` never writes.
 * `SOAK_HEAP_DIR=dir` keeps the snapshots there (`soak/retainers.ts` reads two of them).
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'
import { ROOT } from './config.ts'
import { rssOf } from './proc.ts'
import { gitCommit } from './report.ts'
import { group, keyFile, type Measured, propose, startServing, startSignal } from './soak/fleet.ts'
import { addSummary, diffSummaries, type HeapSummary, summarize } from './soak/heap-diff.ts'
import { renderSoak, type SoakJson, type SoakSample, slopePer100, writeSoakSection } from './soak/section.ts'

function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  const v = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name} expected an integer ${min}..${max}, got ${raw}`)
  return v
}

const SESSIONS = setting('SOAK_SESSIONS', 1000, 20, 5000)
const EVERY = setting('SOAK_SAMPLE_EVERY', 100, 5, 1000)
const WARMUP = setting(
  'SOAK_WARMUP',
  Math.min(200, Math.floor(SESSIONS / 5 / EVERY) * EVERY),
  0,
  SESSIONS - 2 * EVERY,
)
const HEAP_SESSIONS = setting('SOAK_HEAP_SESSIONS', 200, 10, 1000)
const IDLE_MS = setting('SOAK_IDLE_MS', 3000, 0, 60_000)
const SESSION_TIMEOUT_MS = setting('SOAK_SESSION_TIMEOUT_MS', 60_000, 5000, 300_000)
const DEADLINE = Date.now() + setting('SOAK_DEADLINE_SECONDS', 7200, 60, 4 * 3600) * 1000
const MAX_FAILURES = Math.max(5, Math.floor((SESSIONS + HEAP_SESSIONS) / 50))
const OUT_DIR =
  process.env.SOAK_WRITE === '0'
    ? undefined
    : process.env.SOAK_OUT
      ? resolve(process.env.SOAK_OUT)
      : SESSIONS >= 1000
        ? join(ROOT, 'docs')
        : undefined
const KEEP_DIR = process.env.SOAK_HEAP_DIR ? resolve(process.env.SOAK_HEAP_DIR) : undefined
const ROOM = 'soak'
/** The serving parties' inputs; each proposer's input is its session number. */
const INPUTS = [1, 2, 3]

if (WARMUP % EVERY !== 0)
  throw new Error(`SOAK_WARMUP (${WARMUP}) must be a multiple of SOAK_SAMPLE_EVERY (${EVERY})`)

const log = (m: string): void => void process.stderr.write(`[soak] ${m}\n`)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The soak's state: its processes, where they write, what went wrong. */
interface Run {
  dir: string
  url: string
  fleet: Measured[]
  failures: string[]
  done: number
  /** The hook's commands so far (their files are numbered by it). */
  commands: number
}

/**
 * Have every measured process run `cmd` in each of its threads; resolves with the files they
 * wrote, per process, once all are there.
 */
async function command(run: Run, cmd: 'stats' | 'snapshot'): Promise<Map<string, string[]>> {
  const n = ++run.commands
  for (const m of run.fleet) {
    writeFileSync(join(run.dir, `${m.name}.cmd`), `${cmd} ${n}\n`)
    m.child.signal('SIGUSR2')
  }
  const ext = cmd === 'stats' ? '.stats.json' : '.heapsnapshot'
  const out = new Map<string, string[]>()
  for (const m of run.fleet) {
    const prefix = `${m.name}-${n}-t`
    const until = Date.now() + 120_000
    for (;;) {
      const files = readdirSync(run.dir).filter((f) => f.startsWith(prefix) && f.endsWith(ext))
      if (files.length >= m.threads) {
        out.set(
          m.name,
          files.sort().map((f) => join(run.dir, f)),
        )
        break
      }
      if (!m.child.running) throw new Error(`${m.name} ended while asked for ${cmd}`)
      if (Date.now() > until)
        throw new Error(`${m.name}: ${files.length} of ${m.threads} ${cmd} files in 120 s`)
      await sleep(100)
    }
  }
  return out
}

/** A sample: every thread's live heap after a full collection, then each process's RSS. */
async function sample(run: Run): Promise<SoakSample> {
  await sleep(IDLE_MS)
  const files = await command(run, 'stats')
  const heap: Record<string, number> = {}
  for (const [name, list] of files) {
    heap[name] = 0
    for (const f of list) {
      const s = JSON.parse(readFileSync(f, 'utf8')) as { heap_used: number; external: number; gc: boolean }
      if (!s.gc) throw new Error(`${name}: no gc() in a thread (started without --expose-gc?)`)
      heap[name] += s.heap_used + s.external
      rmSync(f)
    }
  }
  const rss = Object.fromEntries(run.fleet.map((m) => [m.name, rssOf(m.child.pid)]))
  const anon = Object.fromEntries(run.fleet.map((m) => [m.name, rssAnonOf(m.child.pid)]))
  const refused = await refusals(run.url)
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1)
  log(
    `${run.done} sessions (${run.failures.length} failed): ${run.fleet.map((m) => `${m.name} RSS ${mib(rss[m.name]!)} / heap ${mib(heap[m.name]!)} MiB`).join(', ')}`,
  )
  return { sessions: run.done, at_s: 0, rss, rss_anon: anon, heap, refused }
}

/** Anonymous resident memory of a process (Linux `/proc`: RSS without file-backed pages), NaN elsewhere. */
function rssAnonOf(pid: number): number {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/**
 * The server's refusals so far, by code (its `/metrics`): parties that keep dialling departed
 * ones show as `PEER_NOT_IN_ROOM`, and a party cut for its rate as `RATE_LIMITED` and `ABUSE`.
 */
async function refusals(url: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const out: Record<string, number> = {}
  for (const m of (await res.text()).matchAll(
    /^conclave_signal_rejections_total\{code="([A-Z_]+)"\} (\d+)$/gm,
  ))
    out[m[1]!] = Number(m[2])
  return out
}

/** Heap snapshots of every thread, summed up per process (kept in `SOAK_HEAP_DIR` if set). */
async function snapshots(run: Run): Promise<Record<string, HeapSummary>> {
  const files = await command(run, 'snapshot')
  const out: Record<string, HeapSummary> = {}
  for (const [name, list] of files) {
    let sum: HeapSummary | undefined
    for (const f of list) {
      const s = summarize(f)
      sum = sum ? addSummary(sum, s) : s
      if (KEEP_DIR) renameSync(f, join(KEEP_DIR, f.slice(run.dir.length + 1)))
      else rmSync(f)
    }
    out[name] = sum!
  }
  return out
}

/** Run sessions until `run.done` is `until`, sampling every {@link EVERY} when `samples` is given. */
async function serve(run: Run, until: number, samples?: SoakSample[], started = Date.now()): Promise<void> {
  while (run.done < until) {
    if (Date.now() > DEADLINE) throw new Error(`deadline reached after ${run.done} sessions`)
    for (const m of run.fleet) if (!m.child.running) throw new Error(`${m.name} ended: ${m.child.exitText()}`)
    const n = run.done + 1
    const { file } = await keyFile(run.dir, `proposer${n}`, (id) => id < '8')
    try {
      const total = await propose(
        { url: run.url, room: ROOM, key: file, input: n },
        `proposer${n}`,
        SESSION_TIMEOUT_MS,
      )
      const want = String(n + INPUTS.reduce((a, b) => a + b, 0))
      if (total !== want) run.failures.push(`session ${n}: total ${total}, expected ${want}`)
    } catch (e) {
      run.failures.push(`session ${n}: ${e instanceof Error ? e.message.slice(0, 300) : String(e)}`)
      log(`! ${run.failures.at(-1)}`)
    } finally {
      rmSync(file, { force: true })
      rmSync(`${file.slice(0, -'.json'.length)}.state`, { recursive: true, force: true })
    }
    run.done = n
    if (run.failures.length > MAX_FAILURES) throw new Error(`more than ${MAX_FAILURES} failed sessions`)
    if (samples && run.done % EVERY === 0)
      samples.push({ ...(await sample(run)), at_s: Math.round((Date.now() - started) / 1000) })
  }
}

async function main(): Promise<void> {
  const started = Date.now()
  const loadStart = os.loadavg()
  const dir = mkdtempSync(join(os.tmpdir(), 'conclave-soak-'))
  if (KEEP_DIR) mkdirSync(KEEP_DIR, { recursive: true })
  log(
    `${SESSIONS} sessions (sample every ${EVERY}, warm-up ${WARMUP}), then ${HEAP_SESSIONS} between heap snapshots; in ${dir}`,
  )
  try {
    const signal = await startSignal(dir)
    const run: Run = { dir, url: signal.url, fleet: [signal.measured], failures: [], done: 0, commands: 0 }
    // the serving parties' PartyIds are above every proposer's: the proposer is the smallest
    for (const [i, input] of INPUTS.entries()) {
      const { file } = await keyFile(dir, `serve${i}`, (id) => id >= '8')
      const inThread = i === INPUTS.length - 1
      run.fleet.push(
        startServing(
          { url: signal.url, room: ROOM, key: file, input, inThread, heapDir: dir },
          `party${i + 1}`,
        ),
      )
    }
    const parties = run.fleet.slice(1)
    await Promise.all(parties.map((p) => p.child.waitFor((l) => l.event === 'ready', 30_000, 'ready')))
    const samples: SoakSample[] = [await sample(run)]
    await serve(run, SESSIONS, samples, started)
    const before = await snapshots(run)
    await serve(run, SESSIONS + HEAP_SESSIONS)
    await sleep(IDLE_MS)
    const after = await snapshots(run)
    for (const p of parties) {
      const results = p.child.lines.filter((l) => l.event === 'result').length
      if (results !== run.done)
        run.failures.push(`${p.name} reported ${results} results for ${run.done} sessions`)
    }
    const json = report(run, samples, before, after, started, loadStart)
    const text = renderSoak(json)
    process.stdout.write(`\n${text}\n`)
    if (OUT_DIR) {
      mkdirSync(OUT_DIR, { recursive: true })
      writeFileSync(join(OUT_DIR, 'soak.json'), `${JSON.stringify(json, null, 2)}\n`)
      writeSoakSection(join(OUT_DIR, 'benchmarks.md'), text)
      log(`wrote ${join(OUT_DIR, 'soak.json')} and the Soak section of benchmarks.md`)
    } else log('a run of fewer than 1,000 sessions (or SOAK_WRITE=0) without SOAK_OUT: nothing written')
  } finally {
    await group.killAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The run's figures as `docs/soak.json` keeps them. */
function report(
  run: Run,
  samples: SoakSample[],
  before: Record<string, HeapSummary>,
  after: Record<string, HeapSummary>,
  started: number,
  loadStart: number[],
): SoakJson {
  const warm = samples.filter((s) => s.sessions >= WARMUP)
  const first = warm[0]!
  const last = warm.at(-1)!
  const processes: SoakJson['processes'] = run.fleet.map((m) => {
    const b = before[m.name]!
    const a = after[m.name]!
    return {
      name: m.name,
      role:
        m.name === 'signal'
          ? 'signaling server'
          : m.threads === 2
            ? 'party, Worker host'
            : 'party, in-thread host',
      rss_warm_bytes: first.rss[m.name]!,
      rss_end_bytes: last.rss[m.name]!,
      rss_slope_per_100_bytes: Math.round(slopePer100(warm.map((s) => [s.sessions, s.rss[m.name]!]))),
      rss_anon_slope_per_100_bytes: Math.round(
        slopePer100(warm.map((s) => [s.sessions, s.rss_anon[m.name]!])),
      ),
      heap_warm_bytes: first.heap[m.name]!,
      heap_end_bytes: last.heap[m.name]!,
      heap_slope_per_100_bytes: Math.round(slopePer100(warm.map((s) => [s.sessions, s.heap[m.name]!]))),
      snapshot_before_bytes: b.totalBytes,
      snapshot_after_bytes: a.totalBytes,
      snapshot_delta_per_100_bytes: Math.round(((a.totalBytes - b.totalBytes) * 100) / HEAP_SESSIONS),
      top_constructors: diffSummaries(b, a, 10),
    }
  })
  const cpus = os.cpus()
  const git = gitCommit()
  return {
    version: 1,
    date: new Date().toISOString(),
    duration_s: Math.round((Date.now() - started) / 1000),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      loadavg_start: loadStart.map((x) => Math.round(x * 100) / 100),
      loadavg_end: os.loadavg().map((x) => Math.round(x * 100) / 100),
      node: process.version,
    },
    commit: git.commit,
    dirty: git.dirty,
    config: {
      sessions: SESSIONS,
      sample_every: EVERY,
      warmup: WARMUP,
      heap_sessions: HEAP_SESSIONS,
      idle_ms: IDLE_MS,
    },
    target_per_100_bytes: 1_000_000,
    sessions_failed: run.failures.length,
    failures: run.failures.slice(0, 20),
    processes,
    samples,
  }
}

// children are killed on exit; a signal ends this process without its `exit` handlers
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    group.killNow()
    process.exit(130)
  })
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? e.stack : String(e)}`)
    process.exit(1)
  },
)
