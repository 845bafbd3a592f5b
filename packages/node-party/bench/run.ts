/**
 * `pnpm bench`: Conclave against the raw @roamhq/wrtc data channel, on loopback, with every
 * party in its own process. Never part of the tests.
 *
 * The orchestrator starts a signaling server (a child process), spawns the benchmark children
 * (`raw-peer.ts`, `conclave-peer.ts`, `signaling-load.ts`), drives them over stdin/stdout JSON
 * lines, computes min / median / max over the repetitions, and writes `docs/benchmarks.json`
 * and `docs/benchmarks.md`. See `README.md` next to this file for what each figure means.
 *
 * Environment (all optional):
 * - `BENCH_REPS` repetitions of every figure (default 3, at least 3 for the report)
 * - `BENCH_ONLY` comma-separated sections to run: `pair,phases,probes,mesh,sum,frost,signaling`
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
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process'
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { fmt, percentile, round, type Summary, summarize } from './stats.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(BENCH_DIR, '../../..')
const require = createRequire(import.meta.url)

// ── configuration ────────────────────────────────────────────────────────────────────────

const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 3) || 3)
const ONLY = process.env.BENCH_ONLY
  ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim()))
  : undefined
/**
 * Extra `node` flags for the Conclave children that `BENCH_CPU_PROF` profiles (the pair, and the
 * first party of the mesh and protocol runs): diagnosis only, e.g. `--trace-gc`.
 */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0)
/** docs/ gets only a whole run with unchanged processes; otherwise only `BENCH_OUT`. */
const OUT_DIR = process.env.BENCH_OUT
  ? resolve(process.env.BENCH_OUT)
  : ONLY || NODE_ARGS.length > 0
    ? undefined
    : join(ROOT, 'docs')
const PROFILE_DIR = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined
const VERBOSE = process.env.BENCH_VERBOSE === '1'
const PAIR_FIGURES = new Set((process.env.BENCH_PAIR ?? 'small,large,rtt').split(',').map((s) => s.trim()))
/** The whole run stops (children killed) past this. */
const RUN_LIMIT_MS = 12 * 60_000

const CONFIG = {
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
  /** Pause before and between stopping one party and the next (see bringDown). */
  downGapMs: 300,
  /** Time limit of one transfer (each loop also stops by its count). */
  transferMaxMs: 60_000,
}

const t0Run = Date.now()
/** Load averages (1, 5, 15 min) when the run started: other work on the machine skews every figure. */
const loadAtStart = os.loadavg()
const elapsed = (): string => `${((Date.now() - t0Run) / 1000).toFixed(1)}s`
function progress(message: string): void {
  console.log(`[${elapsed().padStart(6)}] ${message}`)
}
const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const want = (section: string): boolean => !ONLY || ONLY.has(section)
/** FROST runs with the other protocols (`sum`) or alone (`frost`). */
const wantFrost = (): boolean => want('sum') || want('frost')

// ── children ─────────────────────────────────────────────────────────────────────────────

type Message = { ev: string } & Record<string, unknown>

interface Waiter {
  ev: string
  resolve: (m: Message) => void
  reject: (e: Error) => void
  timer: ReturnType<typeof setTimeout>
}

const children = new Set<Child>()

/** A child process speaking JSON lines; killed by its PID when done. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly pid: number
  private readonly queues = new Map<string, Message[]>()
  private readonly waiters: Waiter[] = []
  private readonly handlers = new Map<string, (m: Message) => void>()
  private readonly stderrTail: string[] = []
  exited = false
  /** How it exited (signal or code, and its last stderr lines). */
  exitInfo = ''

  constructor(
    readonly name: string,
    script: string,
    args: string[] = [],
    options: { profile?: boolean } = {},
  ) {
    const nodeArgs = ['--import', 'tsx']
    if (options.profile && NODE_ARGS.length > 0) nodeArgs.unshift(...NODE_ARGS)
    if (options.profile && PROFILE_DIR) {
      nodeArgs.unshift(
        '--cpu-prof',
        // one directory per child and Node's default file names (pid and thread id): a fixed
        // --cpu-prof-name is shared by every thread, and tsx's loader thread overwrites the
        // main thread's profile with its own
        `--cpu-prof-dir=${join(PROFILE_DIR, `${name}-${Date.now()}`)}`,
      )
    }
    this.proc = spawn(process.execPath, [...nodeArgs, script, ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    })
    if (this.proc.pid === undefined) throw new Error(`${name}: spawn failed`)
    this.pid = this.proc.pid
    children.add(this)
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.onLine(line))
    createInterface({ input: this.proc.stderr }).on('line', (line) => {
      this.stderrTail.push(line)
      if (this.stderrTail.length > 20) this.stderrTail.shift()
      if (VERBOSE) process.stderr.write(`  [${name}] ${line}\n`)
    })
    this.proc.on('exit', (code, signal) => {
      this.exited = true
      this.exitInfo = `${signal ?? `code ${code}`}${this.stderrTail.length > 0 ? `: ${this.stderrTail.slice(-3).join(' | ')}` : ''}`
      children.delete(this)
      const e = new Error(`${name} exited (${signal ?? code}) ${this.stderrTail.slice(-5).join(' | ')}`)
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer)
        w.reject(e)
      }
    })
    this.proc.stdin.on('error', () => undefined)
  }

  private onLine(line: string): void {
    let m: Message
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>
      const ev = parsed.ev ?? parsed.event
      if (typeof ev !== 'string') return
      m = { ...parsed, ev }
    } catch {
      if (VERBOSE) process.stderr.write(`  [${this.name} stdout] ${line}\n`)
      return
    }
    const h = this.handlers.get(m.ev)
    if (h) {
      h(m)
      return
    }
    if (m.ev === 'error') {
      const e = new Error(`${this.name}: ${String(m.message)}${m.cmd ? ` (${String(m.cmd)})` : ''}`)
      const ws = this.waiters.splice(0)
      if (ws.length === 0) progress(`  ! ${e.message}`)
      for (const w of ws) {
        clearTimeout(w.timer)
        w.reject(e)
      }
      return
    }
    const i = this.waiters.findIndex((w) => w.ev === m.ev)
    if (i >= 0) {
      const w = this.waiters.splice(i, 1)[0]!
      clearTimeout(w.timer)
      w.resolve(m)
      return
    }
    let q = this.queues.get(m.ev)
    if (!q) {
      q = []
      this.queues.set(m.ev, q)
    }
    q.push(m)
  }

  /** Handle every message `ev` as it comes (instead of queueing it). */
  on(ev: string, handler: (m: Message) => void): void {
    this.handlers.set(ev, handler)
  }

  send(cmd: string, data: Record<string, unknown> = {}): void {
    if (this.exited) throw new Error(`${this.name} has exited (${this.exitInfo})`)
    this.proc.stdin.write(`${JSON.stringify({ cmd, ...data })}\n`)
  }

  /** The next message `ev` (queued or to come), or a timeout error. */
  next(ev: string, timeoutMs = 30_000): Promise<Message> {
    const q = this.queues.get(ev)
    if (q && q.length > 0) return Promise.resolve(q.shift()!)
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited (${this.exitInfo})`))
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        ev,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(w)
          if (i >= 0) this.waiters.splice(i, 1)
          reject(new Error(`${this.name}: no "${ev}" within ${timeoutMs} ms`))
        }, timeoutMs),
      }
      this.waiters.push(w)
    })
  }

  /** Send a command and wait for its answer. */
  async ask(cmd: string, data: Record<string, unknown>, ev: string, timeoutMs = 30_000): Promise<Message> {
    // the answer can only come on a later turn of the event loop: send first, then wait
    this.send(cmd, data)
    return this.next(ev, timeoutMs)
  }

  /** Ask the child to exit; kill it by PID if it has not within `graceMs`. */
  async stop(graceMs = 4000): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()))
    try {
      this.send('exit')
      this.proc.stdin.end()
    } catch {
      // killed below
    }
    await Promise.race([gone, sleep(graceMs)])
    if (!this.exited) this.kill()
    await Promise.race([gone, sleep(2000)])
  }

  /** SIGTERM by PID, then SIGKILL if it is still there a second later. */
  kill(): void {
    if (this.exited) return
    try {
      process.kill(this.pid, 'SIGTERM')
    } catch {
      return
    }
    setTimeout(() => {
      if (!this.exited) {
        try {
          process.kill(this.pid, 'SIGKILL')
        } catch {
          // gone
        }
      }
    }, 1000).unref()
  }
}

function killAll(): void {
  for (const c of [...children]) {
    try {
      process.kill(c.pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
}

process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    progress(`${sig}: killing ${children.size} children`)
    killAll()
    process.exit(130)
  })
}
const watchdog = setTimeout(() => {
  progress(`run exceeded ${RUN_LIMIT_MS / 1000} s: killing ${children.size} children`)
  killAll()
  process.exit(1)
}, RUN_LIMIT_MS)
watchdog.unref()

const script = (name: string): string => relative(ROOT, join(BENCH_DIR, name))
const hexId = (): string => randomBytes(32).toString('hex')

// ── results ──────────────────────────────────────────────────────────────────────────────

/** Per-repetition values of every figure. */
const values = new Map<string, number[]>()
function record(name: string, value: number): void {
  let list = values.get(name)
  if (!list) {
    list = []
    values.set(name, list)
  }
  list.push(value)
}
/** CPU µs per message of the sender, the receiver and both. */
function recordCpu(name: string, cpuMs: number[], n: number): void {
  const [a, b] = cpuMs as [number, number]
  record(`${name}_sender_cpu_us_per_msg`, (a * 1000) / n)
  record(`${name}_receiver_cpu_us_per_msg`, (b * 1000) / n)
  record(`${name}_cpu_us_per_msg`, ((a + b) * 1000) / n)
}
function cpuNote(cpuMs: number[], n: number): string {
  const [a, b] = cpuMs as [number, number]
  return ` (CPU per message: sender ${fmt((a * 1000) / n)} µs, receiver ${fmt((b * 1000) / n)} µs)`
}
const failures: string[] = []
const notes: string[] = []
const probes: Record<string, unknown> = {}
const details: Record<string, unknown> = {}
let phasesUs: Record<string, number> | undefined

function fail(what: string, e: unknown): void {
  const message = `${what}: ${e instanceof Error ? e.message : String(e)}`
  failures.push(message)
  progress(`  ✗ ${message}`)
}

// ── signaling server ─────────────────────────────────────────────────────────────────────

interface Server {
  child: Child
  url: string
}

async function startServer(): Promise<Server> {
  const child = new Child('signal-server', 'packages/signaling-server/src/cli.ts', [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'error',
  ])
  const m = await child.next('listening', 30_000)
  return { child, url: String(m.url) }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  return (await res.json()) as Record<string, unknown>
}

async function metric(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  const m = new RegExp(`^conclave_signal_${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time (user + system, every thread) a process has used so far, in ms (Linux /proc), NaN elsewhere. */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
  } catch {
    return Number.NaN
  }
}

/** CPU ms used by each process while `fn` runs. */
async function withCpu<T>(pids: number[], fn: () => Promise<T>): Promise<{ result: T; cpuMs: number[] }> {
  const before = pids.map(cpuMsOf)
  const result = await fn()
  return { result, cpuMs: pids.map((p, i) => cpuMsOf(p) - before[i]!) }
}

/** Resident memory of a process in bytes (Linux /proc), NaN elsewhere. */
function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status)
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

// ── pair section: raw vs Conclave, interleaved repetitions ───────────────────────────────

async function rawPair(): Promise<{ a: Child; b: Child }> {
  const a = new Child('raw-sender', script('raw-peer.ts'), ['--offerer'])
  const b = new Child('raw-receiver', script('raw-peer.ts'))
  a.on('signal', (m) => b.send('signal', { data: m.data }))
  b.on('signal', (m) => a.send('signal', { data: m.data }))
  await Promise.all([a.next('loaded'), b.next('loaded')])
  const t = now()
  a.send('start')
  const [oa, ob] = await Promise.all([a.next('open', 15_000), b.next('open', 15_000)])
  const ms = Math.max(Number(oa.t), Number(ob.t)) - t
  details.raw_connect_ms = round(ms)
  progress(`raw data channel open in ${fmt(ms)} ms (signaling through the orchestrator's pipes)`)
  return { a, b }
}

interface ConclaveChild {
  child: Child
  id: string
}

async function prepare(list: Child[]): Promise<ConclaveChild[]> {
  const ids = await Promise.all(list.map((c) => c.ask('prepare', {}, 'prepared')))
  return list.map((child, i) => ({ child, id: String(ids[i]!.id) }))
}

/** Bring parties up in one fresh room; returns the time until all are connected and handshaken. */
async function bringUp(
  server: Server,
  parties: ConclaveChild[],
  timeoutMs = 20_000,
): Promise<{ ms: number; registeredMs: number; firstReadyMs: number; ok: boolean; error?: string }> {
  const room = `bench-${randomBytes(6).toString('hex')}`
  const ids = parties.map((p) => p.id)
  const answers = await Promise.all(
    parties.map((p) =>
      p.child.ask(
        'up',
        { url: server.url, room, peers: ids.filter((x) => x !== p.id), timeoutMs },
        'up',
        timeoutMs + 5000,
      ),
    ),
  )
  const bad = answers.find((a) => a.ok !== true)
  const start = Math.min(...answers.map((a) => Number(a.t0)))
  const result = {
    ms: Math.max(...answers.map((a) => Number(a.tReady))) - start,
    registeredMs: Math.max(...answers.map((a) => Number(a.tRegistered))) - start,
    firstReadyMs: Math.min(...answers.map((a) => Number(a.tFirstReady))) - start,
    ok: !bad,
  }
  return bad ? { ...result, ms: Number.NaN, error: String(bad.error) } : result
}

/**
 * Stop the parties one after the other, after a quiet moment. wrtc segfaults in
 * RTCDataChannel::Send when a party sends (its close record, an acknowledgement) on a channel
 * whose other end has just closed its RTCPeerConnection (see README): parties stopping at the
 * same instant, or right after traffic, crash each other.
 */
async function bringDown(parties: ConclaveChild[]): Promise<void> {
  // let the last acknowledgements (sent 10 ms after processing) go out before anyone stops
  await sleep(CONFIG.downGapMs)
  for (const p of parties) {
    await p.child.ask('down', {}, 'down', 15_000)
    await sleep(CONFIG.downGapMs)
  }
}

async function openSession(parties: ConclaveChild[]): Promise<string> {
  const sid = hexId()
  const participants = parties.map((p) => p.id)
  await Promise.all(parties.map((p) => p.child.ask('session', { sid, participants }, 'session')))
  return sid
}

async function rawTransfer(
  pair: { a: Child; b: Child },
  n: number,
  size: number,
): Promise<{ ms: number; cpuMs: number[] }> {
  const { result, cpuMs } = await withCpu([pair.a.pid, pair.b.pid], () => rawTransferOnce(pair, n, size))
  return { ms: result, cpuMs }
}

async function rawTransferOnce(pair: { a: Child; b: Child }, n: number, size: number): Promise<number> {
  await pair.b.ask('count', { n }, 'armed')
  const received = pair.b.next('counted', CONFIG.transferMaxMs + 10_000)
  const sent = await pair.a.ask(
    'throughput',
    { n, size, highWater: CONFIG.highWater, maxMs: CONFIG.transferMaxMs },
    'sent',
    CONFIG.transferMaxMs + 10_000,
  )
  if (sent.timedOut) throw new Error(`raw sender stopped at ${String(sent.sent)} of ${n}`)
  const got = await received
  if (Number(got.outOfOrder) > 0) notes.push(`raw ${size} B: ${String(got.outOfOrder)} messages out of order`)
  return Number(got.tLast) - Number(sent.tFirst)
}

interface TransferOptions {
  n: number
  size: number
  batch: number
  watch: boolean
  /** Credit window (0: none) and how often the receiver sends credit. */
  window: number
  creditEvery: number
  maxMs?: number
  /** How often the sender reads wrtc's bufferedAmount for its report (ms; default 100). */
  bufferSampleMs?: number
}

/** A Conclave transfer of `n` messages of the `small` (256 B) or `large` (64 KiB) kind, with its flow control. */
function transferOf(kind: 'small' | 'large', n: number): TransferOptions {
  return {
    n,
    size: CONFIG[kind].size,
    batch: CONFIG.batch[kind],
    watch: CONFIG.watch[kind],
    window: CONFIG.window[kind],
    creditEvery: CONFIG.creditEvery[kind],
  }
}

async function conclaveTransfer(
  sender: ConclaveChild,
  receiver: ConclaveChild,
  o: TransferOptions,
): Promise<{ ms: number; sent: Message; received: Message; cpuMs: number[] }> {
  const { result, cpuMs } = await withCpu([sender.child.pid, receiver.child.pid], () =>
    conclaveTransferOnce(sender, receiver, o),
  )
  return { ...result, cpuMs }
}

async function conclaveTransferOnce(
  sender: ConclaveChild,
  receiver: ConclaveChild,
  o: TransferOptions,
): Promise<{ ms: number; sent: Message; received: Message }> {
  const maxMs = o.maxMs ?? CONFIG.transferMaxMs
  const sid = await openSession([sender, receiver])
  await receiver.child.ask(
    'recv',
    { sid, from: sender.id, n: o.n, creditEvery: o.creditEvery, maxMs: maxMs + 5000 },
    'armed',
  )
  const receivedP = receiver.child.next('received', maxMs + 15_000)
  const sent = await sender.child.ask(
    'send',
    {
      sid,
      to: receiver.id,
      n: o.n,
      size: o.size,
      batch: o.batch,
      watch: o.watch,
      bufferSampleMs: o.bufferSampleMs ?? 100,
      window: o.window,
      highWater: CONFIG.highWater,
      maxMs,
    },
    'sent',
    maxMs + 15_000,
  )
  // a sender that had sends refused: the receiver waits for the accepted ones only
  if (Number(sent.ok) < o.n) receiver.child.send('expect', { n: Number(sent.ok) })
  const received = await receivedP
  await sender.child.ask('session-close', { sid }, 'session-closed', 5000).catch(() => undefined)
  return { ms: Number(received.tLast) - Number(sent.tFirst), sent, received }
}

/** How long of `ms` the sender waited for credits and for wrtc's buffer to drain. */
function waitNote(sent: Message, ms: number): string {
  return `; sender waited ${fmt(Number(sent.creditWaitMs))} ms for credits and ${fmt(Number(sent.waitedMs))} ms for wrtc's buffer of ${fmt(ms)} ms`
}

function describeFailure(sent: Message, received: Message): string {
  const parts: string[] = []
  if (sent.error) parts.push(`sender: ${String(sent.error)}`)
  if (received.error) parts.push(`receiver: ${String(received.error)} after ${String(received.count)}`)
  const drops = { ...(sent.drops as object), ...(received.drops as object) }
  if (Object.keys(drops).length > 0) parts.push(`drops ${JSON.stringify(drops)}`)
  return parts.join('; ') || 'incomplete'
}

async function pairSection(server: Server): Promise<void> {
  progress('── pairs: raw RTCDataChannel vs Conclave (separate processes) ──')
  const raw = await rawPair()
  const [ca, cb] = await prepare([
    new Child('conclave-sender', script('conclave-peer.ts'), [], { profile: true }),
    new Child('conclave-receiver', script('conclave-peer.ts'), [], { profile: true }),
  ])
  const pair = [ca!, cb!]
  await Promise.all(pair.map((p) => p.child.next('loaded')))
  const up = await bringUp(server, pair)
  if (!up.ok) throw new Error(`Conclave pair did not connect: ${up.error}`)
  progress(`Conclave pair connected and handshaken in ${fmt(up.ms)} ms (cold processes)`)
  details.pair_connect_cold_ms = round(up.ms)
  const [sender, receiver] = pair as [ConclaveChild, ConclaveChild]
  const { small, large, rtt } = CONFIG

  // One untimed round of each transfer first, raw and Conclave alike: every process has then
  // compiled its hot paths (V8's JIT), as a long-running party has.
  if (want('pair')) {
    try {
      await rawTransfer(raw, CONFIG.warmup.small, small.size)
      await rawTransfer(raw, CONFIG.warmup.large, large.size)
      for (const kind of ['small', 'large'] as const)
        await conclaveTransfer(sender, receiver, transferOf(kind, CONFIG.warmup[kind]))
      progress(
        `warm-up (not counted): ${fmt(CONFIG.warmup.small)} × 256 B and ${CONFIG.warmup.large} × 64 KiB each way, raw and Conclave`,
      )
    } catch (e) {
      fail('warm-up', e)
    }
  }
  for (let rep = 1; rep <= (want('pair') ? REPS : 0); rep++) {
    const tag = `rep ${rep}/${REPS}`
    // 256 B, one message per send on the raw channel
    if (PAIR_FIGURES.has('small')) {
      try {
        const { ms, cpuMs } = await rawTransfer(raw, small.n, small.size)
        record('raw_256B_msgs_per_s', (small.n / ms) * 1000)
        recordCpu('raw_256B', cpuMs, small.n)
        progress(`raw      256 B  ${tag}: ${fmt((small.n / ms) * 1000)} msg/s${cpuNote(cpuMs, small.n)}`)
      } catch (e) {
        fail(`raw 256 B ${tag}`, e)
      }
      try {
        const r = await conclaveTransfer(sender, receiver, transferOf('small', small.n))
        if (Number(r.received.count) !== small.n) throw new Error(describeFailure(r.sent, r.received))
        record('conclave_256B_msgs_per_s', (small.n / r.ms) * 1000)
        recordCpu('conclave_256B', r.cpuMs, small.n)
        record('conclave_256B_units_per_frame', small.n / Number(r.sent.frames))
        progress(
          `conclave 256 B  ${tag}: ${fmt((small.n / r.ms) * 1000)} msg/s${cpuNote(r.cpuMs, small.n)}, ${fmt(small.n / Number(r.sent.frames))} units per frame${waitNote(r.sent, r.ms)}`,
        )
      } catch (e) {
        fail(`conclave 256 B ${tag}`, e)
      }
    }
    // 64 KiB
    const bytes = large.n * large.size
    if (PAIR_FIGURES.has('large')) {
      try {
        const { ms, cpuMs } = await rawTransfer(raw, large.n, large.size)
        record('raw_64KiB_MBps', bytes / 1000 / ms)
        recordCpu('raw_64KiB', cpuMs, large.n)
        progress(`raw      64 KiB ${tag}: ${fmt(bytes / 1000 / ms)} MB/s${cpuNote(cpuMs, large.n)}`)
      } catch (e) {
        fail(`raw 64 KiB ${tag}`, e)
      }
      try {
        const r = await conclaveTransfer(sender, receiver, transferOf('large', large.n))
        if (Number(r.received.count) !== large.n) throw new Error(describeFailure(r.sent, r.received))
        record('conclave_64KiB_MBps', bytes / 1000 / r.ms)
        recordCpu('conclave_64KiB', r.cpuMs, large.n)
        progress(
          `conclave 64 KiB ${tag}: ${fmt(bytes / 1000 / r.ms)} MB/s${cpuNote(r.cpuMs, large.n)}, ${fmt(Number(r.sent.frames) / large.n)} frames per message${waitNote(r.sent, r.ms)}`,
        )
      } catch (e) {
        fail(`conclave 64 KiB ${tag}`, e)
      }
    }
    // round trips
    if (PAIR_FIGURES.has('rtt')) {
      /** Raw round trips; the echo first busy-works `spinUs` µs when given. */
      const rawRtt = async (spinUs: number) => {
        await raw.b.ask('echo', { spinUs }, 'echoing')
        const r = await raw.a.ask(
          'rtt',
          { ...rtt, maxMs: CONFIG.transferMaxMs },
          'rtt',
          CONFIG.transferMaxMs + 5000,
        )
        const idle = await raw.b.ask('idle', {}, 'idle')
        const samples = r.samples as number[]
        if (samples.length < rtt.n) throw new Error(`only ${samples.length} of ${rtt.n} round trips`)
        return { samples, pingBlock: Number(r.sendBlock), echoBlock: Number(idle.sendBlock) }
      }
      try {
        const { samples, pingBlock, echoBlock } = await rawRtt(0)
        record('raw_rtt_p50_ms', percentile(samples, 50))
        record('raw_rtt_p99_ms', percentile(samples, 99))
        record('raw_rtt_send_block_ms', pingBlock)
        record('raw_rtt_echo_send_block_ms', echoBlock)
        progress(
          `raw      RTT    ${tag}: p50 ${fmt(percentile(samples, 50))} ms, p99 ${fmt(percentile(samples, 99))} ms`,
        )
      } catch (e) {
        fail(`raw RTT ${tag}`, e)
      }
      try {
        const { samples, echoBlock } = await rawRtt(CONFIG.busyEchoUs)
        record('raw_rtt_busy_echo_p50_ms', percentile(samples, 50))
        record('raw_rtt_busy_echo_send_block_ms', echoBlock)
        progress(
          `raw      RTT    ${tag}, the echo busy ${CONFIG.busyEchoUs} µs first: p50 ${fmt(percentile(samples, 50))} ms`,
        )
      } catch (e) {
        fail(`raw RTT busy echo ${tag}`, e)
      }
      try {
        const sid = await openSession(pair)
        const total = rtt.n + rtt.warmup
        await receiver.child.ask(
          'echo',
          { sid, from: sender.id, n: total, maxMs: CONFIG.transferMaxMs },
          'echoing',
        )
        const r = await sender.child.ask(
          'ping',
          { sid, to: receiver.id, ...rtt, maxMs: CONFIG.transferMaxMs },
          'rtt',
          CONFIG.transferMaxMs + 5000,
        )
        const echoed = await receiver.child.next('echoed', 10_000)
        record('conclave_rtt_sender_send_path_ms', Number(r.sendPath))
        record('conclave_rtt_sender_receive_path_ms', Number(r.receivePath))
        record('conclave_rtt_echo_receive_path_ms', Number(echoed.receivePath))
        record('conclave_rtt_echo_send_path_ms', Number(echoed.sendPath))
        record('conclave_rtt_send_block_ms', Number(r.sendBlock))
        record('conclave_rtt_echo_send_block_ms', Number(echoed.sendBlock))
        record(
          'conclave_rtt_wire_ms',
          Number(r.wireAndPeer) - Number(echoed.receivePath) - Number(echoed.sendPath),
        )
        await Promise.all(pair.map((p) => p.child.ask('session-close', { sid }, 'session-closed', 5000)))
        const samples = r.samples as number[]
        if (samples.length < rtt.n)
          throw new Error(`only ${samples.length} of ${rtt.n} round trips: ${String(r.error)}`)
        record('conclave_rtt_p50_ms', percentile(samples, 50))
        record('conclave_rtt_p99_ms', percentile(samples, 99))
        const wire = Number(r.wireAndPeer) - Number(echoed.receivePath) - Number(echoed.sendPath)
        progress(
          `conclave RTT    ${tag}: p50 ${fmt(percentile(samples, 50))} ms, p99 ${fmt(percentile(samples, 99))} ms (medians: send ${fmt(Number(r.sendPath))} + wire ${fmt(wire)} + peer receive ${fmt(Number(echoed.receivePath))} + peer send ${fmt(Number(echoed.sendPath))} + receive ${fmt(Number(r.receivePath))} ms)`,
        )
      } catch (e) {
        fail(`conclave RTT ${tag}`, e)
      }
    }
  }

  if (want('phases')) {
    try {
      progress('phase costs of the message path (in-process, one Conclave child)')
      const m = await sender.child.ask('phases', {}, 'phases', 120_000)
      phasesUs = m.us as Record<string, number>
    } catch (e) {
      fail('phases', e)
    }
  }

  await Promise.all([raw.a.stop(), raw.b.stop()])
  await bringDown(pair)
  for (const p of pair) await p.child.stop()
}

// ── probes: what an application that just sends gets ────────────────────────────────────

/** One probe on a fresh pair of Conclave processes, so that whatever happens stays in it. */
async function probe(server: Server, name: string, title: string, o: TransferOptions): Promise<void> {
  progress(`probe ${name}: ${title}`)
  const procs = [
    new Child(`${name}-sender`, script('conclave-peer.ts')),
    new Child(`${name}-receiver`, script('conclave-peer.ts')),
  ]
  try {
    await Promise.all(procs.map((c) => c.next('loaded')))
    const pair = await prepare(procs)
    const up = await bringUp(server, pair)
    if (!up.ok) throw new Error(`pair did not connect: ${up.error}`)
    const [sender, receiver] = pair as [ConclaveChild, ConclaveChild]
    const r = await conclaveTransfer(sender, receiver, o)
    const ok = Number(r.received.count) === o.n
    const result = {
      ok,
      sent_ok: r.sent.ok,
      received: r.received.count,
      out_of_order: r.received.outOfOrder,
      ...(ok ? { msgs_per_s: round((o.n / r.ms) * 1000), MBps: round((o.n * o.size) / 1000 / r.ms) } : {}),
      wrtc_buffer_peak_bytes: r.sent.maxBuffered,
      sender_rss_growth_bytes: r.sent.rssGrowth,
      receiver_drops: r.received.drops,
      sender_drops: r.sent.drops,
      ...(ok ? {} : { failure: describeFailure(r.sent, r.received) }),
    }
    const dropped = { ...(r.sent.drops as object), ...(r.received.drops as object) }
    if (ok && Object.keys(dropped).length > 0) {
      Object.assign(result, { note: `all delivered, after ${JSON.stringify(dropped)}` })
    }
    probes[name] = result
    if ('note' in result) progress(`  (${String(result.note)})`)
    progress(
      `  → ${ok ? `all ${o.n} delivered: ${fmt((o.n / r.ms) * 1000)} msg/s, ${fmt((o.n * o.size) / 1000 / r.ms)} MB/s` : `${String(r.received.count)} of ${o.n} delivered: ${describeFailure(r.sent, r.received)}`}; wrtc buffer peak ${fmt(Number(r.sent.maxBuffered) / 1048576)} MiB, sender RSS +${fmt(Number(r.sent.rssGrowth) / 1048576)} MiB`,
    )
    await bringDown(pair)
  } catch (e) {
    probes[name] = { ok: false, failure: e instanceof Error ? e.message : String(e) }
    progress(`  → ${e instanceof Error ? e.message : String(e)}`)
  } finally {
    for (const c of procs) await c.stop()
  }
}

async function probeSection(server: Server): Promise<void> {
  progress("── probes: bursts without the bench's flow control (fresh pair each) ──")
  const { small, large } = CONFIG
  if (process.env.BENCH_PROBE !== '64')
    await probe(server, 'conclave_256B_burst', `20,000 × 256 B, every session.send at once`, {
      n: 20_000,
      size: small.size,
      batch: 20_000,
      watch: false,
      window: 0,
      creditEvery: 0,
      maxMs: 20_000,
      bufferSampleMs: 20,
    })
  await probe(server, 'conclave_64KiB_unthrottled', `1,000 × 64 KiB, every session.send at once`, {
    n: 1000,
    size: large.size,
    batch: 1000,
    watch: false,
    window: 0,
    creditEvery: 0,
    maxMs: 20_000,
    bufferSampleMs: 20,
  })
}

// ── mesh section: connection times, secure-sum ───────────────────────────────────────────

async function meshSection(server: Server): Promise<void> {
  const biggest = Math.max(
    ...(want('mesh') ? CONFIG.meshSizes : [0]),
    want('sum') || wantFrost() ? CONFIG.sumParties : 0,
  )
  progress(`── mesh: ${biggest} Conclave parties, one process each ──`)
  const procs = Array.from(
    { length: biggest },
    (_, i) => new Child(`party-${i + 1}`, script('conclave-peer.ts'), [], { profile: i === 0 }),
  )
  await Promise.all(procs.map((c) => c.next('loaded', 60_000)))

  if (want('mesh')) {
    // one untimed round so every process has loaded wrtc, socket.io and WebCrypto once
    const warm = await prepare(procs)
    const cold = await bringUp(server, warm)
    await bringDown(warm)
    details[`mesh${biggest}_cold_ms`] = round(cold.ms)
    progress(
      `mesh of ${biggest} (cold processes, not counted): ${cold.ok ? `${fmt(cold.ms)} ms` : cold.error}`,
    )
    for (let rep = 1; rep <= REPS; rep++) {
      for (const n of CONFIG.meshSizes) {
        const name = n === 2 ? 'pair_connect_ms' : `mesh${n}_ms`
        try {
          const parties = await prepare(procs.slice(0, n))
          const r = await bringUp(server, parties)
          await bringDown(parties)
          if (!r.ok) throw new Error(r.error)
          record(name, r.ms)
          record(`${name.replace('_ms', '')}_registered_ms`, r.registeredMs)
          progress(
            `${String(n).padStart(2)} parties rep ${rep}/${REPS}: all connected and handshaken in ${fmt(r.ms)} ms (all registered at ${fmt(r.registeredMs)} ms, first link ready at ${fmt(r.firstReadyMs)} ms)`,
          )
        } catch (e) {
          fail(`mesh of ${n} rep ${rep}`, e)
        }
        await sleep(200)
      }
    }
  }

  if (want('sum') || wantFrost()) {
    try {
      const parties = await prepare(procs.slice(0, CONFIG.sumParties))
      const up = await bringUp(server, parties)
      if (!up.ok) throw new Error(up.error)
      if (want('sum')) await secureSumReps(parties).catch((e: unknown) => fail('secure-sum', e))
      if (wantFrost()) await frostReps(parties)
      await bringDown(parties)
    } catch (e) {
      fail(`protocols among ${CONFIG.sumParties}`, e)
    }
  }

  for (const c of procs) await c.stop()
}

/** `secure_sum5_ms`: REPS runs of secure-sum among the connected `parties`, each total checked. */
async function secureSumReps(parties: ConclaveChild[]): Promise<void> {
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

/** From the first party's start to the last party's result (`t0`, `t1` of each answer). */
function spanMs(answers: Message[]): number {
  return Math.max(...answers.map((a) => Number(a.t1))) - Math.min(...answers.map((a) => Number(a.t0)))
}

/** The median of the children's `cpuUs`, in ms. */
function medianCpuMs(answers: Message[]): number {
  return percentile(
    answers.map((a) => Number(a.cpuUs) / 1000),
    50,
  )
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32-byte key. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/**
 * Plain Ed25519 (node:crypto, RFC 8032) verification of `signatureHex` on `message` under the
 * 32-byte public key `publicKeyHex`; false for malformed input.
 */
function ed25519Verifies(publicKeyHex: string, message: Uint8Array, signatureHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex) || !/^[0-9a-f]{128}$/.test(signatureHex)) return false
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]),
      format: 'der',
      type: 'spki',
    })
    return verifySignature(null, message, key, Buffer.from(signatureHex, 'hex'))
  } catch {
    return false
  }
}

/** A run that did not check out; `stop` when a child did not answer (a late answer would be taken for the next run's). */
class RunFailure extends Error {
  constructor(
    message: string,
    readonly stop = false,
  ) {
    super(message)
  }
}

/** Ask every one of `parties` the same command and wait for all answers; RunFailure(stop) on a timeout. */
async function askAll(
  parties: ConclaveChild[],
  cmd: string,
  data: Record<string, unknown>,
  timeoutMs: number,
): Promise<Message[]> {
  try {
    return await Promise.all(parties.map((p) => p.child.ask(cmd, data, cmd, timeoutMs)))
  } catch (e) {
    throw new RunFailure(e instanceof Error ? e.message : String(e), true)
  }
}

/**
 * One FROST key generation among all `parties` (threshold `CONFIG.frost.threshold`), then a
 * signature of a fresh random message by `signers` with that key, on a session of their own.
 * Checked: every party holds the same group key; every signer returns the same signature, and it
 * verifies with plain Ed25519 (node:crypto) under the group key while a one-bit change of the
 * message does not.
 * @throws RunFailure when a step fails or a check does not hold
 */
async function frostOnce(
  parties: ConclaveChild[],
  signers: ConclaveChild[],
): Promise<{ dkg: Message[]; sign: Message[]; groupKey: string; message: string; signature: string }> {
  const participants = parties.map((p) => p.id)
  const dkg = await askAll(
    parties,
    'frost-dkg',
    { sid: hexId(), participants, threshold: CONFIG.frost.threshold },
    40_000,
  )
  const badDkg = dkg.find((a) => a.ok !== true)
  if (badDkg) throw new RunFailure(`DKG: ${String(badDkg.error)}`)
  const groupKey = String(dkg[0]?.groupPublicKey)
  if (dkg.some((a) => a.groupPublicKey !== groupKey))
    throw new RunFailure('DKG: the parties ended with different group keys')

  const message = randomBytes(32)
  const sign = await askAll(
    signers,
    'frost-sign',
    { sid: hexId(), participants: signers.map((p) => p.id), message: message.toString('hex') },
    40_000,
  )
  const badSign = sign.find((a) => a.ok !== true)
  if (badSign) throw new RunFailure(`signing: ${String(badSign.error)}`)
  const signature = String(sign[0]?.signature)
  if (sign.some((a) => a.signature !== signature || a.groupPublicKey !== groupKey))
    throw new RunFailure('signing: the signers returned different signatures (or group keys)')
  const tampered = Buffer.from(message)
  tampered[0]! ^= 1
  if (!ed25519Verifies(groupKey, message, signature) || ed25519Verifies(groupKey, tampered, signature))
    throw new RunFailure(
      `signing: ${signature.slice(0, 16)}… does not verify under the group key with Ed25519`,
    )
  return { dkg, sign, groupKey, message: message.toString('hex'), signature }
}

/**
 * `frost_dkg5_ms` and `frost_sign3of5_ms` ({@link frostOnce} REPS times, another choice of
 * signers each time), after one untimed round: the first FROST run of a process also pays for
 * JIT compilation and noble's precomputed tables. A repetition that fails a check records
 * nothing and is a failure.
 */
async function frostReps(parties: ConclaveChild[]): Promise<void> {
  const n = parties.length
  const { threshold, signers: k } = CONFIG.frost
  for (let rep = 0; rep <= REPS; rep++) {
    const tag = rep === 0 ? 'cold, not counted' : `rep ${rep}/${REPS}`
    const signers = Array.from({ length: k }, (_, i) => parties[(Math.max(0, rep - 1) + i) % n]!)
    const numbers = signers.map((p) => parties.indexOf(p) + 1).join(', ')
    let r: Awaited<ReturnType<typeof frostOnce>>
    try {
      r = await frostOnce(parties, signers)
    } catch (e) {
      fail(`FROST ${threshold}-of-${n} ${tag}`, e)
      if (e instanceof RunFailure && !e.stop) continue
      break
    }
    const dkgMs = spanMs(r.dkg)
    const signMs = spanMs(r.sign)
    if (rep === 0) {
      details.frost_dkg5_cold_ms = round(dkgMs)
      details.frost_sign3of5_cold_ms = round(signMs)
    } else {
      record('frost_dkg5_ms', dkgMs)
      record('frost_sign3of5_ms', signMs)
      details.frost_last_signature = {
        group_public_key: r.groupKey,
        message: r.message,
        signature: r.signature,
        signers: signers.map((p) => parties.indexOf(p) + 1),
      }
    }
    progress(
      `FROST DKG ${threshold}-of-${n} ${tag}: ${fmt(dkgMs)} ms (same group key ${r.groupKey.slice(0, 12)}… at all ${n}; CPU per party, median ${fmt(medianCpuMs(r.dkg))} ms)`,
    )
    progress(
      `FROST signing ${k}-of-${n} ${tag}: ${fmt(signMs)} ms (parties ${numbers}; same signature at all ${k}, Ed25519-verified; CPU per signer, median ${fmt(medianCpuMs(r.sign))} ms)`,
    )
  }
}

// ── signaling section ────────────────────────────────────────────────────────────────────

async function signalingSection(server: Server): Promise<void> {
  const s = CONFIG.signaling
  progress(`── signaling server: ${s.parties} registered parties, signal bursts from a second process ──`)
  const load = new Child('signaling-load', script('signaling-load.ts'))
  await load.next('loaded')
  try {
    const rssBefore = rssOf(server.child.pid)
    const regRun = await withCpu([server.child.pid, load.pid], () =>
      load.ask('register', { url: server.url, n: s.parties, maxMs: 60_000 }, 'registered', 90_000),
    )
    const reg = regRun.result
    const stats = await getJson(`${server.url}/registry/stats`)
    const rssAfter = rssOf(server.child.pid)
    record('signaling_parties_held', Number(stats.parties))
    record('signaling_register_per_s', (Number(reg.ok) / Number(reg.ms)) * 1000)
    details.signaling_registration = {
      requested: s.parties,
      registered: reg.ok,
      failed: reg.failed,
      errors: reg.errors,
      ms: round(Number(reg.ms)),
      server_cpu_ms: regRun.cpuMs[0],
      load_cpu_ms: regRun.cpuMs[1],
      server_rss_before_bytes: rssBefore,
      server_rss_after_bytes: rssAfter,
      server_rss_per_party_bytes: round((rssAfter - rssBefore) / Math.max(1, Number(stats.parties))),
      registry_stats: stats,
    }
    progress(
      `registered ${String(reg.ok)}/${s.parties} parties in ${fmt(Number(reg.ms))} ms (CPU: server ${fmt(regRun.cpuMs[0])} ms, load ${fmt(regRun.cpuMs[1])} ms); server holds ${String(stats.parties)}, RSS ${fmt(rssBefore / 1048576)} → ${fmt(rssAfter / 1048576)} MiB`,
    )
    const paired = await load.ask('pair', { pairs: s.pairs }, 'paired', 60_000)
    if (Number(paired.ok) !== 2 * s.pairs)
      throw new Error(`only ${String(paired.ok)} joins of ${2 * s.pairs}`)
    for (let rep = 1; rep <= REPS; rep++) {
      await sleep(s.pauseMs) // let every socket's token bucket refill: nothing is refused for rate
      const before = await metric(server.url, 'signals_relayed_total')
      const run = await withCpu([server.child.pid, load.pid], () =>
        load.ask('burst', { perSender: s.perSender, maxMs: 20_000 }, 'burst', 40_000),
      )
      const r = run.result
      const after = await metric(server.url, 'signals_relayed_total')
      if (r.timedOut) {
        fail(
          `signal burst rep ${rep}`,
          `${String(r.received)} of ${String(r.sent)} in time; ${JSON.stringify(r.errors)}`,
        )
        continue
      }
      const rate = (Number(r.received) / Number(r.ms)) * 1000
      const [serverCpu, loadCpu] = run.cpuMs as [number, number]
      record('signaling_signals_per_s', rate)
      record('signaling_server_cpu_us_per_signal', (serverCpu * 1000) / Number(r.received))
      record('signaling_load_cpu_us_per_signal', (loadCpu * 1000) / Number(r.received))
      progress(
        `signal burst rep ${rep}/${REPS}: ${String(r.received)} signals relayed in ${fmt(Number(r.ms))} ms = ${fmt(rate)}/s (server counted ${after - before}, acked ${String(r.acked)}; CPU: server ${fmt(serverCpu)} ms, load ${fmt(loadCpu)} ms)`,
      )
    }
    await load.ask('stop', {}, 'stopped')
  } catch (e) {
    fail('signaling', e)
  }
  await load.stop()
}

// ── report ───────────────────────────────────────────────────────────────────────────────

function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim()
    return { commit, dirty: status.length > 0 }
  } catch {
    return { commit: 'unknown', dirty: false }
  }
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8')
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)
    if (m) return `${m[1]} (${os.type()} ${os.release()}, ${os.arch()})`
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()} (${os.platform()}, ${os.arch()})`
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

interface Target {
  name: string
  goal: string
  measured: string
  met: boolean | null
}

function report(durationMs: number): void {
  const figures: Record<string, Summary> = {}
  for (const [k, v] of values) {
    const s = summarize(v)
    figures[k] = {
      ...s,
      min: round(s.min),
      median: round(s.median),
      max: round(s.max),
      values: s.values.map((x) => round(x)),
    }
  }
  const med = (k: string): number => figures[k]?.median ?? Number.NaN
  const medians: Record<string, number | null> = {}
  for (const k of Object.keys(figures)) medians[k] = med(k)
  const ratio256 = med('conclave_256B_msgs_per_s') / med('raw_256B_msgs_per_s')
  const ratio64 = med('conclave_64KiB_MBps') / med('raw_64KiB_MBps')
  const rttOverhead = med('conclave_rtt_p50_ms') - med('raw_rtt_p50_ms')
  medians.ratio_256B = round(ratio256)
  medians.ratio_64KiB = round(ratio64)
  medians.rtt_overhead_ms = round(rttOverhead)
  for (const k of [
    'raw_256B_msgs_per_s',
    'conclave_256B_msgs_per_s',
    'raw_64KiB_MBps',
    'conclave_64KiB_MBps',
    'raw_rtt_p50_ms',
    'conclave_rtt_p50_ms',
    'pair_connect_ms',
    'mesh8_ms',
    'secure_sum5_ms',
    'frost_dkg5_ms',
    'frost_sign3of5_ms',
  ]) {
    if (!(k in medians)) medians[k] = null
  }
  for (const [k, v] of Object.entries(medians))
    if (typeof v === 'number' && !Number.isFinite(v)) medians[k] = null

  const check = (v: number, ok: (x: number) => boolean): boolean | null => (Number.isFinite(v) ? ok(v) : null)
  const targets: Target[] = [
    {
      name: '256 B signed + encrypted messages/s vs raw unbatched 256 B messages/s',
      goal: '≥ 8×',
      measured: `${fmt(ratio256)}× (${fmt(med('conclave_256B_msgs_per_s'))} vs ${fmt(med('raw_256B_msgs_per_s'))} msg/s)`,
      met: check(ratio256, (x) => x >= 8),
    },
    {
      name: '64 KiB messages, MB/s vs raw',
      goal: '≥ 0.9×',
      measured: `${fmt(ratio64)}× (${fmt(med('conclave_64KiB_MBps'))} vs ${fmt(med('raw_64KiB_MBps'))} MB/s)`,
      met: check(ratio64, (x) => x >= 0.9),
    },
    {
      name: 'round trip p50 of a small message',
      goal: '≤ raw + 0.3 ms',
      measured: `raw + ${fmt(rttOverhead)} ms (${fmt(med('conclave_rtt_p50_ms'))} vs ${fmt(med('raw_rtt_p50_ms'))} ms)`,
      met: check(rttOverhead, (x) => x <= 0.3),
    },
    {
      name: 'one pair connected and handshaken, signaling included',
      goal: '< 150 ms',
      measured: `${fmt(med('pair_connect_ms'))} ms`,
      met: check(med('pair_connect_ms'), (x) => x < 150),
    },
    {
      name: '8 parties fully connected and handshaken',
      goal: '< 2 s',
      measured: `${fmt(med('mesh8_ms'))} ms`,
      met: check(med('mesh8_ms'), (x) => x < 2000),
    },
  ]

  const cpus = os.cpus()
  const git = gitCommit()
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_bytes: os.totalmem(),
    os: osName(),
    loadavg_start: loadAtStart.map((x) => round(x, 3)),
    loadavg_end: os.loadavg().map((x) => round(x, 3)),
  }
  const versions = {
    node: process.version,
    '@roamhq/wrtc': packageVersion('@roamhq/wrtc'),
    'simple-peer': packageVersion('simple-peer'),
    conclave_commit: git.commit,
    conclave_worktree_dirty: git.dirty,
  }
  const json = {
    version: 1,
    date: new Date().toISOString(),
    duration_s: round(durationMs / 1000),
    machine,
    versions,
    config: CONFIG,
    figures,
    medians,
    targets,
    details,
    probes,
    phases_us: phasesUs ?? null,
    failures,
    notes,
  }

  const md: string[] = []
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`
  const span = (k: string, unit = ''): string => {
    const f = figures[k]
    if (!f || f.n === 0) return '—'
    return `**${fmt(f.median)}**${unit} (${fmt(f.min)}–${fmt(f.max)})`
  }
  md.push('# Benchmarks: Conclave against the raw data channel', '')
  md.push(
    `Generated by \`pnpm bench\` on ${json.date.slice(0, 10)} (${fmt(durationMs / 1000)} s). Every party runs in its own`,
    'Node process on loopback (127.0.0.1, no STUN host). Figures are **median** (min–max) of',
    `${REPS} repetitions in one run. How each figure is measured: \`packages/node-party/bench/README.md\`.`,
    'Raw figures: `docs/benchmarks.json`.',
    '',
  )
  md.push('## Machine and versions', '', row(['', '']), row(['---', '---']))
  md.push(row(['CPU', `${machine.cpu}, ${machine.cores} cores`]))
  md.push(row(['memory', `${fmt(machine.memory_bytes / 2 ** 30)} GiB`]))
  md.push(row(['OS', machine.os]))
  md.push(
    row([
      'load average (1 / 5 / 15 min)',
      `${machine.loadavg_start.map((x) => fmt(x)).join(' / ')} at the start, ${machine.loadavg_end.map((x) => fmt(x)).join(' / ')} at the end`,
    ]),
  )
  md.push(row(['node', versions.node]))
  md.push(row(['@roamhq/wrtc', versions['@roamhq/wrtc']]))
  md.push(row(['simple-peer', versions['simple-peer']]))
  md.push(
    row([
      'conclave commit',
      `\`${git.commit.slice(0, 12)}\`${git.dirty ? ' (with uncommitted changes)' : ''}`,
    ]),
  )
  md.push('')
  md.push(
    '## Targets',
    '',
    row(['target', 'goal', 'measured (medians)', 'met']),
    row(['---', '---', '---', '---']),
  )
  for (const t of targets)
    md.push(row([t.name, t.goal, t.measured, t.met === null ? 'not measured' : t.met ? '✅ yes' : '❌ no']))
  md.push('')
  md.push(
    '## Data channel: raw vs Conclave',
    '',
    row(['figure', 'raw RTCDataChannel', 'Conclave (signed + encrypted)', 'Conclave / raw']),
    row(['---', '---', '---', '---']),
    row([
      `${fmt(CONFIG.small.n)} × 256 B, one way, msg/s`,
      span('raw_256B_msgs_per_s'),
      span('conclave_256B_msgs_per_s'),
      `${fmt(ratio256)}×`,
    ]),
    row([
      `${fmt(CONFIG.large.n)} × 64 KiB, one way, MB/s`,
      span('raw_64KiB_MBps'),
      span('conclave_64KiB_MBps'),
      `${fmt(ratio64)}×`,
    ]),
    row([
      `round trip of ${CONFIG.rtt.size} B, p50, ms`,
      span('raw_rtt_p50_ms'),
      span('conclave_rtt_p50_ms'),
      `+${fmt(rttOverhead)} ms`,
    ]),
    row([
      `round trip of ${CONFIG.rtt.size} B, p99, ms`,
      span('raw_rtt_p99_ms'),
      span('conclave_rtt_p99_ms'),
      `+${fmt(med('conclave_rtt_p99_ms') - med('raw_rtt_p99_ms'))} ms`,
    ]),
    '',
    `MB = 10⁶ bytes of message body. One untimed round of each transfer (${fmt(CONFIG.warmup.small)} × 256 B, ${CONFIG.warmup.large} × 64 KiB, raw and`,
    'Conclave alike) comes first. The raw sender sends one message per `send()` (unbatched) and',
    `keeps wrtc's \`bufferedAmount\` under ${fmt(CONFIG.highWater / 1048576)} MiB. The Conclave sender calls \`session.send\``,
    `without awaiting each call (${fmt(CONFIG.batch.small)} / ${CONFIG.batch.large} in flight, then awaited together), stays within`,
    `${fmt(CONFIG.window.small)} / ${CONFIG.window.large} messages of what the receiving application has read (it sends a credit`,
    `message every ${fmt(CONFIG.creditEvery.small)} / ${CONFIG.creditEvery.large}), and leaves wrtc's buffer to the link, which holds`,
    'frames back past 8 MiB (DESIGN "Connections"); the credits are there because Conclave gives the',
    'application no backpressure to wait on (see the probes).',
    '',
  )
  const cell = (k: string): string => (figures[k] ? fmt(figures[k].median) : '—')
  md.push(
    '## Where the time goes',
    '',
    'CPU time per message (µs, medians; user + system of every thread of the process, from',
    '`/proc/<pid>/stat`, over the whole transfer). Both processes share the same cores, so the sum',
    'bounds the rate a 2-core machine can reach.',
    '',
    row([
      'messages',
      'raw sender',
      'raw receiver',
      'Conclave sender',
      'Conclave receiver',
      'Conclave / raw (sum)',
    ]),
    row(['---', '---', '---', '---', '---', '---']),
    ...(['256B', '64KiB'] as const).map((m) =>
      row([
        m === '256B' ? '256 B' : '64 KiB',
        cell(`raw_${m}_sender_cpu_us_per_msg`),
        cell(`raw_${m}_receiver_cpu_us_per_msg`),
        cell(`conclave_${m}_sender_cpu_us_per_msg`),
        cell(`conclave_${m}_receiver_cpu_us_per_msg`),
        `${fmt(med(`conclave_${m}_cpu_us_per_msg`) / med(`raw_${m}_cpu_us_per_msg`))}×`,
      ]),
    ),
    '',
    `Conclave's 256 B units travel ${cell('conclave_256B_units_per_frame')} to a frame (one wrtc \`send()\` per frame).`,
    '',
    'Conclave round trip, median of each part (ms): from `session.send` to the frame entering',
    "wrtc's `send()` (*send*), the rest of the way through wrtc and back (*wire*, comparable to the",
    "raw round trip), the echoing peer's receive and send paths, and from the reply frame leaving",
    'wrtc to `receive` resolving (*receive*):',
    '',
    row(['send', 'wire', 'peer receive', 'peer send', 'receive', 'total p50', 'raw p50']),
    row(['---', '---', '---', '---', '---', '---', '---']),
    row([
      cell('conclave_rtt_sender_send_path_ms'),
      cell('conclave_rtt_wire_ms'),
      cell('conclave_rtt_echo_receive_path_ms'),
      cell('conclave_rtt_echo_send_path_ms'),
      cell('conclave_rtt_sender_receive_path_ms'),
      cell('conclave_rtt_p50_ms'),
      cell('raw_rtt_p50_ms'),
    ]),
    '',
    `The *wire* part holds both wrtc \`send()\` calls, each a blocking hop to wrtc's threads. Median`,
    'time one call blocked (ms), by who sent it; the raw echo also ran a second time with',
    `${CONFIG.busyEchoUs} µs of busy work before each reply (about what Conclave's echoing party spends on a message):`,
    '',
    row(['sender', 'raw', 'raw, echo busy first', 'Conclave']),
    row(['---', '---', '---', '---']),
    row(['pinging side', cell('raw_rtt_send_block_ms'), '', cell('conclave_rtt_send_block_ms')]),
    row([
      'echoing side',
      cell('raw_rtt_echo_send_block_ms'),
      cell('raw_rtt_busy_echo_send_block_ms'),
      cell('conclave_rtt_echo_send_block_ms'),
    ]),
    row([
      'round trip p50',
      cell('raw_rtt_p50_ms'),
      cell('raw_rtt_busy_echo_p50_ms'),
      cell('conclave_rtt_p50_ms'),
    ]),
    '',
    `A reply sent a while after the message arrived (the busy echo: raw + ${fmt(CONFIG.busyEchoUs / 1000)} ms of work +`,
    `${fmt(med('raw_rtt_busy_echo_p50_ms') - med('raw_rtt_p50_ms') - CONFIG.busyEchoUs / 1000)} ms) finds wrtc's threads asleep, and its \`send()\` blocks until they wake.`,
    '',
  )
  md.push(
    '## Connections and protocols (Conclave)',
    '',
    row(['figure', 'median (min–max)']),
    row(['---', '---']),
    row(['2 parties (one pair) connected and handshaken, signaling included, ms', span('pair_connect_ms')]),
    row(['4 parties fully connected and handshaken, ms', span('mesh4_ms')]),
    row(['8 parties fully connected and handshaken, ms', span('mesh8_ms')]),
    row([`secure-sum among ${CONFIG.sumParties} connected parties, ms`, span('secure_sum5_ms')]),
    row([
      `FROST key generation, ${CONFIG.frost.threshold}-of-${CONFIG.sumParties}, among ${CONFIG.sumParties} connected parties, ms`,
      span('frost_dkg5_ms'),
    ]),
    row([
      `FROST signing by ${CONFIG.frost.signers} of the ${CONFIG.sumParties} (key from that DKG), ms`,
      span('frost_sign3of5_ms'),
    ]),
    '',
    'Connection times run from the moment the first party starts (signaling connect, registration,',
    'room join, WebRTC offer/answer/ICE, Conclave handshake) until every party has every link ready,',
    `with warm processes; the first, cold round in fresh processes (not counted) took ${fmt(Number(details[`mesh${Math.max(...CONFIG.meshSizes)}_cold_ms`]))} ms for ${Math.max(...CONFIG.meshSizes)} parties`,
    `and ${fmt(Number(details.pair_connect_cold_ms))} ms for the throughput pair.`,
    '',
    'Protocol times run from the first party opening the session to the last party holding the',
    'result: each secure-sum total is checked, each FROST key generation must end with one group',
    'key at every party, and each FROST signature must be the same at every signer and verify with',
    'plain Ed25519 under the group key; a run that fails a check is a failure, not a figure. Each',
    `FROST repetition is a new key generation, then ${CONFIG.frost.signers} of the parties (another choice each time) sign a`,
    'random 32-byte message with it.',
    ...(details.frost_dkg5_cold_ms === undefined
      ? []
      : [
          `A first FROST round (JIT, noble's tables; not counted) took ${fmt(Number(details.frost_dkg5_cold_ms))} ms for the key generation`,
          `and ${fmt(Number(details.frost_sign3of5_cold_ms))} ms for the signature.`,
        ]),
    '',
  )
  md.push(
    '## Signaling server',
    '',
    row(['figure', 'median (min–max)']),
    row(['---', '---']),
    row([
      `registered parties held (of ${fmt(CONFIG.signaling.parties)} registered from a second process)`,
      span('signaling_parties_held'),
    ]),
    row([
      'registrations per second (challenge, Ed25519 signature, verify)',
      span('signaling_register_per_s'),
    ]),
    row([
      `signal messages relayed per second (${CONFIG.signaling.pairs} pairs × ${CONFIG.signaling.perSender} signals per burst)`,
      span('signaling_signals_per_s'),
    ]),
    row(['server CPU per relayed signal, µs', span('signaling_server_cpu_us_per_signal')]),
    row([
      'load process CPU per signal (socket.io client, ack, receipt), µs',
      span('signaling_load_cpu_us_per_signal'),
    ]),
    '',
  )
  const reg = details.signaling_registration as Record<string, unknown> | undefined
  if (reg) {
    md.push(
      `Registering took ${fmt(Number(reg.server_cpu_ms))} ms of server CPU (${fmt(Number(reg.server_cpu_ms) / Math.max(1, Number(reg.registered)))} ms per party) and ${fmt(Number(reg.load_cpu_ms))} ms in the load process.`,
    )
    md.push(
      `Server RSS ${fmt(Number(reg.server_rss_before_bytes) / 1048576)} MiB before and ${fmt(Number(reg.server_rss_after_bytes) / 1048576)} MiB after the registrations`,
      `(≈ ${fmt(Number(reg.server_rss_per_party_bytes) / 1024)} KiB per registered party, socket included).`,
      '',
    )
  }
  md.push(
    '## Probes: an application that just sends (one run each, fresh pair, default limits)',
    '',
    "No flow control by the bench: no credit window, no look at wrtc's buffer.",
    '',
  )
  if (Object.keys(probes).length === 0) md.push('Not run.', '')
  else {
    md.push(
      row(['probe', 'delivered', 'rate', 'wrtc buffer peak', 'sender RSS growth', 'what happened']),
      row(['---', '---', '---', '---', '---', '---']),
    )
    const titles: Record<string, string> = {
      conclave_256B_burst: '20,000 × 256 B, every `send` at once',
      conclave_64KiB_unthrottled: '1,000 × 64 KiB, every `send` at once',
    }
    for (const [k, raw] of Object.entries(probes)) {
      const v = raw as Record<string, unknown>
      const mib = (x: unknown): string => (typeof x === 'number' ? `${fmt(x / 1048576)} MiB` : '—')
      md.push(
        row([
          titles[k] ?? k,
          `${String(v.received ?? '—')}${v.sent_ok !== undefined ? ` (${String(v.sent_ok)} sends accepted)` : ''}`,
          v.ok ? `${fmt(Number(v.msgs_per_s))} msg/s, ${fmt(Number(v.MBps))} MB/s` : '—',
          mib(v.wrtc_buffer_peak_bytes),
          mib(v.sender_rss_growth_bytes),
          String(v.failure ?? v.note ?? 'all delivered').replace(/\|/g, '\\|'),
        ]),
      )
    }
    md.push('')
  }
  if (phasesUs) {
    md.push(
      '## Cost of each step of the message path (µs per operation, one process, no network)',
      '',
      row(['step', 'µs']),
      row(['---', '---']),
    )
    for (const [k, v] of Object.entries(phasesUs)) md.push(row([`\`${k}\``, fmt(v)]))
    md.push('')
  }
  if (failures.length > 0 || notes.length > 0) {
    md.push('## Failures and notes', '')
    for (const f of failures) md.push(`- ✗ ${f}`)
    for (const n of notes) md.push(`- ${n}`)
    md.push('')
  }

  let text = `${md.join('\n').trimEnd()}\n`
  if (OUT_DIR) {
    mkdirSync(OUT_DIR, { recursive: true })
    writeFileSync(join(OUT_DIR, 'benchmarks.json'), `${JSON.stringify(json, null, 2)}\n`)
    text += keptBlocks(join(OUT_DIR, 'benchmarks.md'))
    writeFileSync(join(OUT_DIR, 'benchmarks.md'), text)
    progress(`wrote ${relative(ROOT, join(OUT_DIR, 'benchmarks.json'))} and benchmarks.md`)
  } else {
    progress('partial run, or BENCH_NODE_ARGS, without BENCH_OUT: nothing written')
  }
  console.log(`\n${text}`)
}

/**
 * The hand-written blocks of the previous report (`<!-- name:begin -->` … `<!-- name:end -->`:
 * the analysis, the signaling cluster figures of `pnpm bench:cluster`), kept as they were.
 */
function keptBlocks(file: string): string {
  let old: string
  try {
    old = readFileSync(file, 'utf8')
  } catch {
    return ''
  }
  const blocks = old.match(/<!-- ([a-z0-9-]+):begin -->[\s\S]*?<!-- \1:end -->/g) ?? []
  return blocks.map((b) => `\n${b}\n`).join('')
}

// ── main ─────────────────────────────────────────────────────────────────────────────────

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
