/**
 * Round trips of a small message (`*_rtt_*`): raw, raw with an echo that works first, and
 * Conclave split into its parts (send, wire, peer, receive).
 * @module
 */
import { CONFIG } from '../config.ts'
import { type ConclaveChild, openSession } from '../parties.ts'
import { fail, progress, record } from '../results.ts'
import { fmt, percentile } from '../stats.ts'
import type { RawPair } from '../transfer.ts'

/** One repetition of the round trips: raw, raw with a busy echo, and Conclave with its parts. */
export async function rttRep(raw: RawPair, pair: ConclaveChild[], tag: string): Promise<void> {
  const [sender, receiver] = pair as [ConclaveChild, ConclaveChild]
  const { rtt } = CONFIG
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
