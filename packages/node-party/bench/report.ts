/**
 * The report of a run: `benchmarks.json` (every figure of every repetition, the medians, the
 * targets, the details, probes and phase costs) and `benchmarks.md` (the tables), written to
 * `OUT_DIR` when there is one, and printed.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { join, relative } from 'node:path'
import { CONFIG, OUT_DIR, REPS, ROOT } from './config.ts'
import { details, failures, loadAtStart, notes, phases, probes, progress, values } from './results.ts'
import { fmt, round, type Summary, summarize } from './stats.ts'

const require = createRequire(import.meta.url)

/** The commit checked out, and whether the worktree has changes. */
export function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim()
    return { commit, dirty: status.length > 0 }
  } catch {
    return { commit: 'unknown', dirty: false }
  }
}

/** The OS for the report (`/etc/os-release` on Linux). */
export function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8')
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)
    if (m) return `${m[1]} (${os.type()} ${os.release()}, ${os.arch()})`
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()} (${os.platform()}, ${os.arch()})`
}

/** The installed version of package `name`. */
export function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** One target of the report, and whether the medians meet it (null: not measured). */
export interface Target {
  name: string
  goal: string
  measured: string
  met: boolean | null
}

/** Write `benchmarks.json` and `benchmarks.md` to `OUT_DIR` (when set) and print the markdown. */
export function report(durationMs: number): void {
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
    'relink_after_path_loss_ms',
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
    {
      name: `messages flow again after the direct path was cut for ${CONFIG.relink.cutMs / 1000} s`,
      goal: '≤ 2,000 ms',
      measured: `${fmt(med('relink_after_path_loss_ms'))} ms`,
      met: check(med('relink_after_path_loss_ms'), (x) => x <= 2000),
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
    phases_us: phases.us ?? null,
    failures,
    notes,
  }

  const md: string[] = []
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`
  /** A table's head: its header row and the separator row. */
  const tableHead = (cells: string[]): string[] => [row(cells), row(cells.map(() => '---'))]
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
  md.push('## Machine and versions', '', ...tableHead(['', '']))
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
  md.push('## Targets', '', ...tableHead(['target', 'goal', 'measured (medians)', 'met']))
  for (const t of targets)
    md.push(row([t.name, t.goal, t.measured, t.met === null ? 'not measured' : t.met ? '✅ yes' : '❌ no']))
  md.push('')
  md.push(
    '## Data channel: raw vs Conclave',
    '',
    ...tableHead(['figure', 'raw RTCDataChannel', 'Conclave (signed + encrypted)', 'Conclave / raw']),
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
    ...tableHead([
      'messages',
      'raw sender',
      'raw receiver',
      'Conclave sender',
      'Conclave receiver',
      'Conclave / raw (sum)',
    ]),
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
    ...tableHead(['send', 'wire', 'peer receive', 'peer send', 'receive', 'total p50', 'raw p50']),
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
    ...tableHead(['sender', 'raw', 'raw, echo busy first', 'Conclave']),
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
    ...tableHead(['figure', 'median (min–max)']),
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
    '## A lost direct path (Conclave, two network namespaces)',
    '',
    ...tableHead(['figure', 'median (min–max)']),
    row([
      `messages flow again after the direct path was cut for ${CONFIG.relink.cutMs / 1000} s, from its return, ms`,
      span('relink_after_path_loss_ms'),
    ]),
    row([
      'messages flow again after a party moved to another address, from the move, ms',
      span('relink_after_address_change_ms'),
    ]),
    '',
    'Two parties, each in its own network namespace, joined by a veth pair whose addresses exist',
    `only inside them; each sends the other a message every ${CONFIG.relink.intervalMs} ms; the later of the two directions.`,
    'Every repetition delivered every message in order, once (else it is a failure, not a figure).',
    '',
  )
  md.push(
    '## Signaling server',
    '',
    ...tableHead(['figure', 'median (min–max)']),
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
      ...tableHead(['probe', 'delivered', 'rate', 'wrtc buffer peak', 'sender RSS growth', 'what happened']),
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
  const phasesUs = phases.us
  if (phasesUs) {
    md.push(
      '## Cost of each step of the message path (µs per operation, one process, no network)',
      '',
      ...tableHead(['step', 'µs']),
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
 * the analysis, the signaling cluster figures of `pnpm bench:cluster`, the soak of `pnpm soak`,
 * rendered by `soak/section.ts` from `docs/soak.json`), kept as they were.
 */
export function keptBlocks(file: string): string {
  let old: string
  try {
    old = readFileSync(file, 'utf8')
  } catch {
    return ''
  }
  const blocks = old.match(/<!-- ([a-z0-9-]+):begin -->[\s\S]*?<!-- \1:end -->/g) ?? []
  return blocks.map((b) => `\n${b}\n`).join('')
}
