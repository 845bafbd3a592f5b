/**
 * Streams of messages between two bench parties: `recv` (with credits), `send` (batches, credit
 * window, optional watch of wrtc's buffer), `echo` and `ping` (round trips and their parts).
 * @module
 */
import { parsePartyId } from '@conclave/core/node'
import { type Command, emit, now, num, sleep, str } from '../child-io.ts'
import { median } from '../stats.ts'
import { cpuSince, describeError, dropCounts, frames, session, sessions, timeLimit } from './party.ts'
import { bufferedAmount, trace } from './wrtc-peers.ts'

/**
 * The receive loop in progress: its target (lowered by `expect` when the sender had sends
 * refused) and what stops it early.
 */
export let recvTarget = { n: 0, count: 0, stop: new AbortController() }

/** `recv { sid, from, n, creditEvery, maxMs }` → `armed`, then `received { tLast, count, … }`. */
export async function recv(c: Command): Promise<void> {
  const s = session(c)
  const from = parsePartyId(str(c, 'from'))
  const n = num(c, 'n')
  const maxMs = num(c, 'maxMs', 30_000)
  const target = { n, count: 0, stop: new AbortController() }
  recvTarget = target
  const limit = timeLimit(maxMs, target.stop.signal)
  const signal = limit.signal
  let count = 0
  let bytes = 0
  let outOfOrder = 0
  let tLast = Number.NaN
  let error: string | undefined
  const creditEvery = num(c, 'creditEvery', 0)
  const cpu0 = process.cpuUsage()
  const frames0 = frames().received
  emit('armed')
  try {
    for (; count < target.n; ) {
      const body = await s.receive(from, 1, { signal })
      if (body.length >= 4 && new DataView(body.buffer, body.byteOffset, 4).getUint32(0) !== count)
        outOfOrder++
      count++
      target.count = count
      bytes += body.length
      // application-level flow control: tell the sender how far the application has read
      if (creditEvery > 0 && (count % creditEvery === 0 || count === n)) {
        const credit = new Uint8Array(4)
        new DataView(credit.buffer).setUint32(0, count)
        s.send(from, 1, credit, { kind: 'credit' }).catch(() => undefined)
      }
    }
    tLast = now()
  } catch (e) {
    if (count >= target.n) tLast = now()
    else error = e instanceof Error ? e.message : String(e)
  } finally {
    limit.clear()
  }
  emit('received', {
    tLast,
    count,
    bytes,
    outOfOrder,
    cpuUs: cpuSince(cpu0),
    frames: frames().received - frames0,
    drops: dropCounts(),
    ...(error ? { error } : {}),
  })
  s.close()
  sessions.delete(s.id)
}

/**
 * Send `n` bodies of `size` bytes with `session.send`, `batch` at a time without awaiting each
 * one. Flow control between batches (each optional):
 * - `window`: at most this many messages beyond what the receiving application has read (it
 *   sends a `credit` message every `creditEvery`): Conclave keeps every unacknowledged unit in a
 *   bounded retransmit buffer and refuses sends past it (`DELIVERY_BUFFER_FULL`);
 * - `watch`: wait while wrtc's data channel holds more than `highWater` bytes (wrtc fails when
 *   its buffer overflows, and Conclave passes no backpressure on).
 */
export async function send(c: Command): Promise<void> {
  const s = session(c)
  const to = parsePartyId(str(c, 'to'))
  const n = num(c, 'n')
  const size = num(c, 'size')
  const batch = Math.max(1, num(c, 'batch', 1000))
  const highWater = num(c, 'highWater', 1024 * 1024)
  const watch = c.watch !== false
  const maxMs = num(c, 'maxMs', 30_000)
  const pollMs = num(c, 'pollMs', 1)
  const window = num(c, 'window', 0)
  const stopCredits = new AbortController()
  let credited = 0
  let creditWaiter: (() => void) | undefined
  if (window > 0) {
    void (async () => {
      const limit = timeLimit(maxMs + 5000, stopCredits.signal)
      try {
        while (credited < n) {
          const b = await s.receive(to, 1, { kind: 'credit', signal: limit.signal })
          credited = new DataView(b.buffer, b.byteOffset, 4).getUint32(0)
          creditWaiter?.()
        }
      } finally {
        limit.clear()
      }
    })().catch(() => undefined)
  }
  let creditWaitMs = 0
  const body = new Uint8Array(size)
  globalThis.crypto.getRandomValues(body.subarray(0, Math.min(size, 65536)))
  const view = new DataView(body.buffer)
  let sent = 0
  /** Sends accepted (a refused one rejects its promise: DELIVERY_BUFFER_FULL …). */
  let ok = 0
  let maxBuffered = 0
  let waitedMs = 0
  let error: string | undefined
  const cpu0 = process.cpuUsage()
  const frames0 = frames().sent
  const rssBefore = process.memoryUsage.rss()
  let rssMax = rssBefore
  // this process's RSS every 20 ms and wrtc's buffer every `bufferSampleMs` (100 ms for the timed
  // transfers) while sending: a read of bufferedAmount blocks on wrtc's signaling thread as long
  // as a send() does, 1-2 ms while the transfer keeps that thread busy (every 20 ms, that was ~9%
  // of a 256 B sender's time)
  const bufferEvery = Math.max(1, Math.round(num(c, 'bufferSampleMs', 100) / 20))
  let ticks = 0
  const sampler = setInterval(() => {
    if (ticks++ % bufferEvery === 0) maxBuffered = Math.max(maxBuffered, bufferedAmount())
    rssMax = Math.max(rssMax, process.memoryUsage.rss())
  }, 20)
  const tFirst = now()
  const deadline = tFirst + maxMs
  try {
    while (sent < n) {
      if (window > 0 && sent - credited >= window) {
        const w0 = now()
        while (sent - credited >= window && now() < deadline) {
          await new Promise<void>((r) => {
            creditWaiter = r
            setTimeout(r, 50)
          })
        }
        creditWaitMs += now() - w0
      }
      const pending: Promise<void>[] = []
      const end = Math.min(n, sent + Math.min(batch, window > 0 ? window - (sent - credited) : batch))
      // session.send encodes the body synchronously, so one buffer can be reused
      for (; sent < end; sent++) {
        if (size >= 4) view.setUint32(0, sent)
        pending.push(s.send(to, 1, body))
      }
      const results = await Promise.allSettled(pending)
      for (const r of results) {
        if (r.status === 'fulfilled') ok++
        else error ??= describeError(r.reason)
      }
      rssMax = Math.max(rssMax, process.memoryUsage.rss())
      if (error) break
      const buffered = bufferedAmount()
      maxBuffered = Math.max(maxBuffered, buffered)
      rssMax = Math.max(rssMax, process.memoryUsage.rss())
      if (watch) {
        const w0 = now()
        while (bufferedAmount() > highWater && now() < deadline) await sleep(pollMs)
        waitedMs += now() - w0
      }
      if (now() > deadline) {
        error = `time limit of ${maxMs} ms reached after ${sent} sends`
        break
      }
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e)
  }
  const tEnd = now()
  clearInterval(sampler)
  stopCredits.abort()
  // the last frames leave at the next flush (all that is queued, in one go): let it happen,
  // then read the counters and wrtc's buffer right after it
  await new Promise<void>((r) => setImmediate(r))
  maxBuffered = Math.max(maxBuffered, bufferedAmount())
  rssMax = Math.max(rssMax, process.memoryUsage.rss())
  emit('sent', {
    tFirst,
    tEnd,
    creditWaitMs,
    cpuUs: cpuSince(cpu0),
    frames: frames().sent - frames0,
    sent,
    ok,
    maxBuffered,
    waitedMs,
    rssGrowth: rssMax - rssBefore,
    drops: dropCounts(),
    ...(error ? { error } : {}),
  })
}

/** `echo { sid, from, n, maxMs }` → `echoing`, then `echoed` (with the echo's receive and send paths). */
export async function echo(c: Command): Promise<void> {
  const s = session(c)
  const from = parsePartyId(str(c, 'from'))
  const n = num(c, 'n')
  const limit = timeLimit(num(c, 'maxMs', 30_000))
  const signal = limit.signal
  let count = 0
  const receivePath: number[] = []
  const sendPath: number[] = []
  const sendBlock: number[] = []
  emit('echoing')
  try {
    for (; count < n; count++) {
      const body = await s.receive(from, 1, { signal })
      const t0 = now()
      receivePath.push(t0 - trace.lastDataAt)
      await s.send(from, 1, body)
      // the frame leaves at the flush already scheduled; this tick comes after it
      await new Promise<void>((r) => setImmediate(r))
      sendPath.push(trace.lastSendAt - t0)
      sendBlock.push(trace.lastSendMs)
    }
  } catch {
    // reported by the count
  } finally {
    limit.clear()
  }
  emit('echoed', {
    count,
    receivePath: median(receivePath),
    sendPath: median(sendPath),
    sendBlock: median(sendBlock),
  })
}

/** `ping { sid, to, n, warmup, size, maxMs }` → `rtt { samples, … }` (round trips one at a time). */
export async function ping(c: Command): Promise<void> {
  const s = session(c)
  const to = parsePartyId(str(c, 'to'))
  const n = num(c, 'n')
  const warmup = num(c, 'warmup', 50)
  const size = num(c, 'size', 32)
  const limit = timeLimit(num(c, 'maxMs', 30_000))
  const signal = limit.signal
  const body = new Uint8Array(size)
  const samples: number[] = []
  const sendPath: number[] = []
  const wire: number[] = []
  const receivePath: number[] = []
  const sendBlock: number[] = []
  let error: string | undefined
  try {
    for (let i = 0; i < warmup + n; i++) {
      const t0 = now()
      await s.send(to, 1, body)
      await s.receive(to, 1, { signal })
      const t1 = now()
      if (i < warmup) continue
      samples.push(t1 - t0)
      sendPath.push(trace.lastSendAt - t0)
      wire.push(trace.lastDataAt - trace.lastSendAt)
      receivePath.push(t1 - trace.lastDataAt)
      sendBlock.push(trace.lastSendMs)
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e)
  } finally {
    limit.clear()
  }
  emit('rtt', {
    samples,
    sendPath: median(sendPath),
    wireAndPeer: median(wire),
    receivePath: median(receivePath),
    sendBlock: median(sendBlock),
    ...(error ? { error } : {}),
  })
}

/** `expect { n }`: the sender had sends refused; wait only for the ones it got in. */
export function expect(c: Command): void {
  recvTarget.n = num(c, 'n')
  if (recvTarget.count >= recvTarget.n) recvTarget.stop.abort()
}
