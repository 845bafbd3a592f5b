/**
 * The signaling server under load from a second process: many registered parties, then
 * bounded bursts of signals between pairs of them.
 * @module
 */
import { Child } from '../children.ts'
import { CONFIG, REPS, script } from '../config.ts'
import { rssOf, withCpu } from '../proc.ts'
import { details, fail, progress, record, sleep } from '../results.ts'
import { getJson, metric, type Server } from '../server.ts'
import { fmt, round } from '../stats.ts'

/** Registrations and signal bursts against the run's server, from a second process. */
export async function signalingSection(server: Server): Promise<void> {
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
