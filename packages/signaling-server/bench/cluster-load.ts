/**
 * Load test of a signaling cluster on loopback: a `redis-server` and two `conclave-signal`
 * instances on it (child processes), loaded from this process (the load generator).
 *
 * 1. **Registered parties held.** `CLUSTER_PARTIES` parties (one socket.io connection and one
 *    Ed25519 identity each) connect, alternately to each instance, register and join rooms of
 *    `CLUSTER_ROOM_SIZE`, so every room spans both instances. Both instances' `/registry/stats`
 *    must count all of them; RSS per instance and Redis memory are read before and after.
 *    Every party heartbeats every 20 s, as real clients do.
 * 2. **Signal messages per second.** Open-loop steps of rising offered rates: every 10 ms a
 *    share of the step's rate is sent, round-robin over the parties, each `signal` to the next
 *    party of its room, which is always on the other instance (every message crosses Redis).
 *    A first step at the lowest rate warms up (JIT, buffers) and is not reported.
 *    Per step: acknowledged and delivered rates, delivery latency, refusals, CPU of each process.
 *    Sending is paced by the clock (every 10 ms, what the rate owes by then), so a late timer
 *    sends a burst rather than lowering the offered rate.
 *    The steps stop at the first one the cluster does not hold: less than 95 % of the offered
 *    rate delivered (within the step and 5 s of draining), or anything refused or timed out.
 *
 * Bounded: parties ≤ 8000, each step `CLUSTER_STEP_SECONDS` (≤ 30), at most 8 steps, a hard
 * deadline of `CLUSTER_DEADLINE_SECONDS` (default 300) for the whole run, every wait timed.
 * Loopback only: everything binds 127.0.0.1.
 *
 * Run: `npx pnpm@9.15.9 run bench:cluster` (writes its section of docs/benchmarks.md, between
 * `<!-- signaling-cluster:begin -->` and `<!-- signaling-cluster:end -->`, and nothing else).
 * `CLUSTER_WRITE=0` only prints.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { toHex } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { registrationSignedBytes } from '@conclave/core/wire'
import { Redis } from 'ioredis'
import { io, type Socket } from 'socket.io-client'
import { startRedis, startSignalInstance } from '../test/daemons.ts'

// ── settings (bounded) ───────────────────────────────────────────────────────────────────

function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  const v = raw === undefined ? fallback : Number(raw)
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name} expected ${min}..${max}, got ${raw}`)
  return v
}

const PARTIES = setting('CLUSTER_PARTIES', 4000, 4, 8000)
const ROOM_SIZE = setting('CLUSTER_ROOM_SIZE', 8, 2, 128)
const STEP_SECONDS = setting('CLUSTER_STEP_SECONDS', 5, 1, 30)
const DEADLINE = Date.now() + setting('CLUSTER_DEADLINE_SECONDS', 300, 30, 1800) * 1000
const RATES = [1000, 2000, 4000, 8000, 12_000, 16_000, 24_000, 32_000]
const CONCURRENCY = 200
const WRITE = process.env.CLUSTER_WRITE !== '0'
const DOC = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url))
const BEGIN = '<!-- signaling-cluster:begin -->'
const END = '<!-- signaling-cluster:end -->'

const log = (m: string): void => void process.stderr.write(`[bench:cluster] ${m}\n`)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function left(): number {
  const ms = DEADLINE - Date.now()
  if (ms <= 0) throw new Error('deadline reached')
  return ms
}

// ── process measurements ─────────────────────────────────────────────────────────────────

const TICKS = 100 // USER_HZ on Linux

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return Number.NaN
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–'

// ── the parties ──────────────────────────────────────────────────────────────────────────

interface BenchParty {
  index: number
  partyId: string
  room: string
  socket: Socket
}

const crypto = createNodeCrypto()

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

async function connectParty(index: number, url: string): Promise<BenchParty> {
  const identity = await crypto.ed25519.generate()
  const partyId = toHex(identity.publicKey)
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  const challenge = await withTimeout(
    new Promise<{ challenge: string; origin: string }>((resolve, reject) => {
      socket.once('challenge', resolve)
      socket.once('connect_error', reject)
    }),
    20_000,
    'challenge',
  )
  const signed = registrationSignedBytes(
    challenge.origin,
    new Uint8Array(Buffer.from(challenge.challenge, 'hex')),
    identity.publicKey,
  )
  const signature = toHex(await crypto.ed25519.sign(identity, signed))
  const reg = (await socket.timeout(20_000).emitWithAck('register', { partyId, signature, version: 1 })) as {
    ok: boolean
    code?: string
  }
  if (!reg.ok) throw new Error(`register refused: ${reg.code}`)
  const room = `bench-${Math.floor(index / ROOM_SIZE)}`
  const joined = (await socket.timeout(20_000).emitWithAck('join', { room })) as {
    ok: boolean
    code?: string
  }
  if (!joined.ok) throw new Error(`join refused: ${joined.code}`)
  return { index, partyId, room, socket }
}

/** Run `fn` over 0..n-1 with at most `limit` at once. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        const i = next++
        await fn(i)
      }
    }),
  )
}

// ── main ─────────────────────────────────────────────────────────────────────────────────

/** A step the cluster held: it delivered what was offered, nothing refused or timed out. */
function holds(step: Step): boolean {
  return step.deliveredPerS >= 0.95 * step.offered && Object.keys(step.refused).length === 0
}

interface Step {
  offered: number
  sent: number
  ackedPerS: number
  deliveredPerS: number
  refused: Record<string, number>
  p50: number
  p99: number
  /** Cores used over the step, per process. */
  cpu: { a: number; b: number; redis: number; bench: number }
  /** CPU time per delivered signal, µs: both instances together, and Redis. */
  cpuUsPerSignal: { instances: number; redis: number }
}

async function main(): Promise<void> {
  const started = new Date()
  const loadBefore = os.loadavg()
  log(`${PARTIES} parties, rooms of ${ROOM_SIZE}, steps of ${STEP_SECONDS} s; ${os.cpus().length} cores`)
  const redis = await startRedis()
  const env = { REDIS_URL: redis.url, CONCLAVE_SIGNAL_LOG_LEVEL: 'error' }
  const a = await startSignalInstance(env)
  const b = await startSignalInstance(env)
  const admin = new Redis(redis.url)
  const instances = [a, b]
  const parties: BenchParty[] = []
  let heartbeat: ReturnType<typeof setInterval> | undefined
  try {
    const pids = { a: a.child.pid!, b: b.child.pid!, redis: redis.child.pid! }
    const rssBefore = { a: rssBytes(pids.a), b: rssBytes(pids.b) }
    const redisBefore = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1])

    // 1. registrations
    const regCpu0 = cpuSeconds(pids.a) + cpuSeconds(pids.b)
    const regRedis0 = cpuSeconds(pids.redis)
    const t0 = performance.now()
    await withTimeout(
      pool(PARTIES, CONCURRENCY, async (i) => {
        parties[i] = await connectParty(i, (instances[i % 2] as { url: string }).url)
      }),
      left(),
      'registrations',
    )
    const registerMs = performance.now() - t0
    const registerCpuUs = {
      instances: ((cpuSeconds(pids.a) + cpuSeconds(pids.b) - regCpu0) / PARTIES) * 1e6,
      redis: ((cpuSeconds(pids.redis) - regRedis0) / PARTIES) * 1e6,
    }
    log(`${PARTIES} registered and joined in ${fmt(registerMs)} ms`)
    // every party heartbeats every 20 s, spread over the 20 s as real clients are
    let beat = 0
    heartbeat = setInterval(() => {
      const slot = beat++ % 20
      for (const p of parties) if (p.index % 20 === slot) p.socket.emit('heartbeat', {})
    }, 1000)
    const statsOf = async (url: string) =>
      (await (await fetch(`${url}/registry/stats`)).json()) as {
        parties: number
        memberships: number
        rooms: number
        connectedSockets: number
      }
    const held = await Promise.all(instances.map((s) => statsOf(s.url)))
    for (const h of held)
      if (h.parties !== PARTIES) throw new Error(`an instance counts ${h.parties} parties`)
    // the cost of the cluster-wide stats (a Lua script over every registration)
    const s0 = performance.now()
    for (let i = 0; i < 10; i++) await statsOf(a.url)
    const statsMs = (performance.now() - s0) / 10
    await sleep(1000)
    const rssAfter = { a: rssBytes(pids.a), b: rssBytes(pids.b) }
    const redisAfter = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1])

    // 2. signal throughput steps
    let delivered = 0
    let latencies: number[] = []
    for (const p of parties) {
      p.socket.on('signal', (ev: { data: { payload?: { t?: number } } }) => {
        delivered++
        const t = ev.data.payload?.t
        if (typeof t === 'number') latencies.push(performance.now() - t)
      })
    }
    const peerOf = (p: BenchParty): BenchParty => {
      const base = Math.floor(p.index / ROOM_SIZE) * ROOM_SIZE
      const size = Math.min(ROOM_SIZE, PARTIES - base)
      return parties[base + ((p.index - base + 1) % size)] as BenchParty
    }
    const steps: Step[] = []
    let warmedUp = false
    let cursor = 0
    // a warm-up step at the first rate (JIT, connection buffers), not reported
    for (const rate of [RATES[0] as number, ...RATES]) {
      const warmUp = steps.length === 0 && rate === RATES[0] && !warmedUp
      warmedUp = true
      if (DEADLINE - Date.now() < (STEP_SECONDS + 10) * 1000) break
      delivered = 0
      latencies = []
      let acked = 0
      let sent = 0
      const refused: Record<string, number> = {}
      const cpu0 = {
        a: cpuSeconds(pids.a),
        b: cpuSeconds(pids.b),
        redis: cpuSeconds(pids.redis),
        bench: process.cpuUsage(),
      }
      const begin = performance.now()
      const end = begin + STEP_SECONDS * 1000
      let seq = 0
      while (performance.now() < end) {
        // what the offered rate owes by now (timers run late on a busy machine: catch up)
        let owed = Math.floor((rate * (performance.now() - begin)) / 1000) - sent
        for (; owed > 0; owed--) {
          const from = parties[cursor++ % PARTIES] as BenchParty
          const to = peerOf(from)
          const data = {
            linkId: 'bench',
            attempt: ++seq,
            kind: 'candidate',
            payload: { t: performance.now() },
          }
          sent++
          from.socket
            .timeout(10_000)
            .emitWithAck('signal', { room: from.room, to: to.partyId, data })
            .then(
              (res: { ok: boolean; code?: string }) => {
                if (res.ok) acked++
                else refused[res.code ?? '?'] = (refused[res.code ?? '?'] ?? 0) + 1
              },
              () => {
                refused.TIMEOUT = (refused.TIMEOUT ?? 0) + 1
              },
            )
        }
        await sleep(10)
      }
      const sendEnd = performance.now()
      // let what is in flight arrive (bounded)
      const drainEnd = Date.now() + 5000
      while (delivered < sent && Date.now() < drainEnd) await sleep(20)
      const elapsed = (sendEnd - begin) / 1000
      const cpuBench = process.cpuUsage(cpu0.bench)
      const wall = (performance.now() - begin) / 1000
      latencies.sort((x, y) => x - y)
      const used = {
        a: cpuSeconds(pids.a) - cpu0.a,
        b: cpuSeconds(pids.b) - cpu0.b,
        redis: cpuSeconds(pids.redis) - cpu0.redis,
      }
      const step: Step = {
        offered: rate,
        sent,
        ackedPerS: acked / elapsed,
        deliveredPerS: delivered / elapsed,
        refused,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        cpu: {
          a: used.a / wall,
          b: used.b / wall,
          redis: used.redis / wall,
          bench: (cpuBench.user + cpuBench.system) / 1e6 / wall,
        },
        cpuUsPerSignal: {
          instances: ((used.a + used.b) / Math.max(1, delivered)) * 1e6,
          redis: (used.redis / Math.max(1, delivered)) * 1e6,
        },
      }
      if (warmUp) {
        log(`warm-up at ${rate}/s: delivered ${fmt(step.deliveredPerS)}/s, p50 ${fmt(step.p50, 1)} ms`)
        await sleep(1000)
        continue
      }
      steps.push(step)
      log(
        `offered ${rate}/s: sent ${sent}, delivered ${fmt(step.deliveredPerS)}/s, p50 ${fmt(step.p50, 1)} ms, p99 ${fmt(step.p99, 1)} ms, refused ${JSON.stringify(refused)}`,
      )
      await sleep(1000)
      if (!holds(step)) break
    }
    const best = steps.filter(holds).at(-1)
    const result = {
      date: started.toISOString(),
      host: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? '?',
        node: process.version,
        loadavg: os.loadavg(),
        loadBefore,
      },
      parties: PARTIES,
      roomSize: ROOM_SIZE,
      registerMs,
      registrationsPerS: PARTIES / (registerMs / 1000),
      registerCpuUs,
      held,
      statsMs,
      rss: { before: rssBefore, after: rssAfter },
      redisBytes: { before: redisBefore, after: redisAfter },
      steps,
      best: best?.deliveredPerS,
    }
    process.stdout.write(`${JSON.stringify(result)}\n`)
    const section = render(result)
    if (WRITE) {
      writeSection(section)
      log('wrote the "Signaling cluster" section of docs/benchmarks.md')
    } else process.stderr.write(`\n${section}\n`)
  } finally {
    if (heartbeat) clearInterval(heartbeat)
    for (const p of parties) p?.socket.disconnect()
    await admin.quit().catch(() => undefined)
    await Promise.all([a.stop(), b.stop()])
    await redis.stop()
  }
}

type Result = {
  date: string
  host: { cores: number; cpu: string; node: string; loadavg: number[]; loadBefore: number[] }
  parties: number
  roomSize: number
  registerMs: number
  registrationsPerS: number
  registerCpuUs: { instances: number; redis: number }
  held: { parties: number; memberships: number; rooms: number; connectedSockets: number }[]
  statsMs: number
  rss: { before: { a: number; b: number }; after: { a: number; b: number } }
  redisBytes: { before: number; after: number }
  steps: Step[]
  best: number | undefined
}

function bestText(r: Result): string {
  const step = r.steps.filter(holds).at(-1)
  if (!step) return 'no step held'
  const last = r.steps.at(-1)
  const next =
    last && last !== step
      ? ` (the next step, ${fmt(last.offered)}/s, was not held)`
      : ' (the highest step tried)'
  return `${fmt(step.deliveredPerS)}: p50 ${fmt(step.p50)} ms, p99 ${fmt(step.p99)} ms${next}`
}

/** CPU per signal at the busiest step (fixed costs such as heartbeats weigh least there), and its ceilings. */
function costRows(steps: Step[]): string[] {
  const top = [...steps].sort((x, y) => y.deliveredPerS - x.deliveredPerS)[0]
  if (!top) return []
  const { instances, redis } = top.cpuUsPerSignal
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [
    row([
      'CPU per signal across instances (at the busiest step)',
      `${fmt(instances)} µs of the two instances together (the sender's validates and publishes, the receiver's delivers), ${fmt(redis)} µs of Redis`,
    ]),
    row([
      'ceiling from that cost: signals per second for two dedicated instance cores / one Redis core',
      `≈ ${fmt((2 * 1e6) / instances)} / ≈ ${fmt(1e6 / redis)}`,
    ]),
  ]
}

function render(r: Result): string {
  const mib = (n: number): string => fmt(n / 1048576, 1)
  const perParty = (before: number, after: number, n: number): string => fmt((after - before) / n / 1024, 1)
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`
  const lines = [
    BEGIN,
    '## Signaling cluster (two instances on Redis)',
    '',
    `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC by \`npx pnpm@9.15.9 run bench:cluster\``,
    `(packages/signaling-server/bench/cluster-load.ts): one \`redis-server\` and two \`conclave-signal\``,
    'instances with `REDIS_URL` (default limits), all on 127.0.0.1, loaded from a separate process.',
    `Host: ${r.host.cores} cores (${r.host.cpu}), Node ${r.host.node}; 1-minute load average ${r.host.loadBefore[0]?.toFixed(1)} before`,
    `and ${r.host.loadavg[0]?.toFixed(1)} after the run. The machine was shared with other work: rates and latencies are a`,
    'floor; the CPU cost per operation (CPU time the process used, divided by the operations) depends',
    'much less on that, and the ceilings derived from it say what a dedicated core would carry.',
    '',
    row(['figure', 'value']),
    row(['---', '---']),
    row([
      'registered parties held (half on each instance, rooms spanning both)',
      `${fmt(r.parties)}: both instances' \`/registry/stats\` count ${r.held.map((h) => fmt(h.parties)).join(' and ')}`,
    ]),
    row([
      'registrations per second (connect, challenge, Ed25519, join; 200 at once)',
      fmt(r.registrationsPerS),
    ]),
    row([
      'signal messages per second held, every one across instances (highest step delivering ≥ 95 %, none refused)',
      bestText(r),
    ]),
    row([
      'memory per registered party',
      `${perParty(r.rss.before.a + r.rss.before.b, r.rss.after.a + r.rss.after.b, r.parties)} KiB of instance RSS, ${perParty(r.redisBytes.before, r.redisBytes.after, r.parties)} KiB of Redis`,
    ]),
    row([
      'memory bound from that: registered parties per GiB of instance RSS (sockets included)',
      `≈ ${fmt(Math.round(2 ** 30 / ((r.rss.after.a + r.rss.after.b - r.rss.before.a - r.rss.before.b) / r.parties) / 1000) * 1000)}`,
    ]),
    row([
      `instance RSS after registrations`,
      `${mib(r.rss.after.a)} MiB and ${mib(r.rss.after.b)} MiB (from ${mib(r.rss.before.a)} / ${mib(r.rss.before.b)})`,
    ]),
    row(['`GET /registry/stats` at this size (one Lua script over the registry)', `${fmt(r.statsMs, 1)} ms`]),
    row([
      'CPU per registration (connect, verify, Redis scripts, join)',
      `${fmt(r.registerCpuUs.instances)} µs of the instances, ${fmt(r.registerCpuUs.redis)} µs of Redis`,
    ]),
    ...costRows(r.steps),
    '',
    `Signal steps (${STEP_SECONDS} s each, open loop, round-robin over all parties; latency is send → delivery`,
    'on the other instance, measured in the load process; CPU in cores):',
    '',
    row([
      'offered /s',
      'acked /s',
      'delivered /s',
      'p50 ms',
      'p99 ms',
      'refused',
      'CPU a',
      'CPU b',
      'CPU redis',
      'CPU load gen',
      'µs/signal instances',
      'µs/signal redis',
    ]),
    row(['---:', '---:', '---:', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...r.steps.map((s) =>
      row([
        fmt(s.offered),
        fmt(s.ackedPerS),
        fmt(s.deliveredPerS),
        fmt(s.p50, 1),
        fmt(s.p99, 1),
        Object.keys(s.refused).length === 0 ? '–' : JSON.stringify(s.refused),
        fmt(s.cpu.a, 2),
        fmt(s.cpu.b, 2),
        fmt(s.cpu.redis, 2),
        fmt(s.cpu.bench, 2),
        fmt(s.cpuUsPerSignal.instances),
        fmt(s.cpuUsPerSignal.redis),
      ]),
    ),
    '',
    END,
  ]
  return lines.join('\n')
}

/** Replace this bench's section of docs/benchmarks.md (or append it); the rest is left as it is. */
function writeSection(section: string): void {
  let text = ''
  try {
    text = readFileSync(DOC, 'utf8')
  } catch {
    text = '# Benchmarks\n'
  }
  const i = text.indexOf(BEGIN)
  const j = text.indexOf(END)
  if (i >= 0 && j > i) text = `${text.slice(0, i)}${section}${text.slice(j + END.length)}`
  else text = `${text.trimEnd()}\n\n${section}\n`
  writeFileSync(DOC, text)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[bench:cluster] failed: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  },
)
