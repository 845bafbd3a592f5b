/**
 * One transfer of `n` messages between two children: over the raw data channel, or through
 * Conclave with the bench's flow control; the time from the first send to the last receive and
 * the CPU each process used.
 * @module
 */
import { Child, type Message } from './children.ts'
import { CONFIG, script } from './config.ts'
import { type ConclaveChild, openSession } from './parties.ts'
import { withCpu } from './proc.ts'
import { details, notes, now, progress } from './results.ts'
import { fmt, round } from './stats.ts'

/** Two raw-peer children, offerer and answerer, with the channel between them open. */
export interface RawPair {
  a: Child
  b: Child
}

/** Start a {@link RawPair} (offer, answer and candidates relayed through the orchestrator). */
export async function rawPair(): Promise<RawPair> {
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

/** A raw transfer of `n` × `size` bytes, timed, with the CPU of both processes. */
export async function rawTransfer(
  pair: RawPair,
  n: number,
  size: number,
): Promise<{ ms: number; cpuMs: number[] }> {
  const { result, cpuMs } = await withCpu([pair.a.pid, pair.b.pid], () => rawTransferOnce(pair, n, size))
  return { ms: result, cpuMs }
}

/** A raw transfer: ms from the first send to the last receive. */
export async function rawTransferOnce(pair: RawPair, n: number, size: number): Promise<number> {
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

/** How a Conclave transfer runs: counts, sizes, batches and the bench's flow control. */
export interface TransferOptions {
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
export function transferOf(kind: 'small' | 'large', n: number): TransferOptions {
  return {
    n,
    size: CONFIG[kind].size,
    batch: CONFIG.batch[kind],
    watch: CONFIG.watch[kind],
    window: CONFIG.window[kind],
    creditEvery: CONFIG.creditEvery[kind],
  }
}

/** A Conclave transfer, timed, with the CPU of both processes. */
export async function conclaveTransfer(
  sender: ConclaveChild,
  receiver: ConclaveChild,
  o: TransferOptions,
): Promise<{ ms: number; sent: Message; received: Message; cpuMs: number[] }> {
  const { result, cpuMs } = await withCpu([sender.child.pid, receiver.child.pid], () =>
    conclaveTransferOnce(sender, receiver, o),
  )
  return { ...result, cpuMs }
}

/** A Conclave transfer on a fresh session: ms from the first send to the last receive, and both reports. */
export async function conclaveTransferOnce(
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
export function waitNote(sent: Message, ms: number): string {
  return `; sender waited ${fmt(Number(sent.creditWaitMs))} ms for credits and ${fmt(Number(sent.waitedMs))} ms for wrtc's buffer of ${fmt(ms)} ms`
}

/** What went wrong in a transfer, from both reports. */
export function describeFailure(sent: Message, received: Message): string {
  const parts: string[] = []
  if (sent.error) parts.push(`sender: ${String(sent.error)}`)
  if (received.error) parts.push(`receiver: ${String(received.error)} after ${String(received.count)}`)
  const drops = { ...(sent.drops as object), ...(received.drops as object) }
  if (Object.keys(drops).length > 0) parts.push(`drops ${JSON.stringify(drops)}`)
  return parts.join('; ') || 'incomplete'
}
