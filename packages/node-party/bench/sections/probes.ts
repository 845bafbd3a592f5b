/**
 * Probes: what an application that just sends gets, without the bench's flow control, each on
 * a fresh pair of Conclave processes.
 * @module
 */
import { Child } from '../children.ts'
import { CONFIG, script } from '../config.ts'
import { bringDown, bringUp, type ConclaveChild, prepare } from '../parties.ts'
import { probes, progress } from '../results.ts'
import type { Server } from '../server.ts'
import { fmt, round } from '../stats.ts'
import { conclaveTransfer, describeFailure, type TransferOptions } from '../transfer.ts'

/** One probe on a fresh pair of Conclave processes, so that whatever happens stays in it. */
export async function probe(server: Server, name: string, title: string, o: TransferOptions): Promise<void> {
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

/** The probes, each on a fresh pair. */
export async function probeSection(server: Server): Promise<void> {
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
