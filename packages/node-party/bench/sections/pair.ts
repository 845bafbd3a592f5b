/**
 * The pair section: raw RTCDataChannel against Conclave between two processes, 256 B and
 * 64 KiB transfers with interleaved repetitions after a warm-up, the round trips
 * (`rtt.ts`), and the phase costs of one Conclave child.
 * @module
 */
import { Child } from '../children.ts'
import { CONFIG, PAIR_FIGURES, REPS, script, want } from '../config.ts'
import { bringDown, bringUp, type ConclaveChild, prepare } from '../parties.ts'
import { cpuNote, details, fail, phases, progress, record, recordCpu } from '../results.ts'
import type { Server } from '../server.ts'
import { fmt, round } from '../stats.ts'
import { conclaveTransfer, describeFailure, rawPair, rawTransfer, transferOf, waitNote } from '../transfer.ts'
import { rttRep } from './rtt.ts'

/** Raw against Conclave between two processes: warm-up, transfers, round trips, phases. */
export async function pairSection(server: Server): Promise<void> {
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
  const { small, large } = CONFIG

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
    if (PAIR_FIGURES.has('rtt')) await rttRep(raw, pair, tag)
  }

  if (want('phases')) {
    try {
      progress('phase costs of the message path (in-process, one Conclave child)')
      const m = await sender.child.ask('phases', {}, 'phases', 120_000)
      phases.us = m.us as Record<string, number>
    } catch (e) {
      fail('phases', e)
    }
  }

  await Promise.all([raw.a.stop(), raw.b.stop()])
  await bringDown(pair)
  for (const p of pair) await p.child.stop()
}
