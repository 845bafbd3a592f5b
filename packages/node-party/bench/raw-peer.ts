/**
 * Benchmark child: one end of a raw @roamhq/wrtc RTCDataChannel (no simple-peer, no Conclave),
 * the baseline Conclave is measured against. Two of these run in separate processes; the
 * orchestrator (`run.ts`) relays their offer, answer and ICE candidates over stdin/stdout.
 *
 * Protocol: JSON lines. Commands on stdin `{ "cmd": … }`, reports on stdout `{ "ev": … }`.
 * Anything else this process writes goes to stderr.
 *
 * - `start` → `signal` lines (offer / answer / candidate) until `open`
 * - `signal { data }` → fed to the RTCPeerConnection
 * - `count { n, size }` → `armed`, then `counted { tLast, count, bytes, outOfOrder }` once n arrived
 * - `echo` → every message is sent straight back (`echoing` acknowledges); `spinUs`: after that
 *   many µs of busy work
 * - `throughput { n, size, highWater, maxMs }` → `sent { tFirst, tEnd, sent, maxBuffered }`
 * - `rtt { n, warmup, size, maxMs }` → `rtt { samples }` (ms, one message in flight)
 * - `exit` → closes the RTCPeerConnection and exits
 *
 * Times are `performance.timeOrigin + performance.now()` (ms since the Unix epoch, sub-ms), so
 * the two processes' clocks agree on one machine.
 *
 * Rules kept here: `iceServers: []` (no STUN host), loopback candidates only (`loopbackOnly`),
 * an ordered reliable channel, the sender polls `bufferedAmount` (wrtc never fires
 * `bufferedamountlow`) and never queues more than `highWater` bytes, every loop is bounded in
 * count and time, and the connection is closed explicitly.
 * @module
 */
import { createRequire } from 'node:module'
import { loopbackOnly } from '@conclave/core/transport'
import { type Command, emit, now, num, serveCommands, sleep } from './child-io.ts'
import { median } from './stats.ts'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc') as {
  RTCPeerConnection: typeof RTCPeerConnection
}

const role = process.argv.includes('--offerer') ? 'offerer' : 'answerer'
const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
let dc: RTCDataChannel | undefined
let closed = false

type Mode =
  | { kind: 'idle' }
  | { kind: 'echo'; spinUs: number; sendBlock: number[] }
  | { kind: 'count'; n: number; count: number; bytes: number; outOfOrder: number; cpu0: NodeJS.CpuUsage }
  | { kind: 'ping'; onMessage: (data: ArrayBuffer) => void }
let mode: Mode = { kind: 'idle' }

function onMessage(ev: MessageEvent): void {
  const data = ev.data as ArrayBuffer
  switch (mode.kind) {
    case 'echo': {
      if (mode.spinUs > 0) {
        // busy work before the reply, as a party's processing of the message (a reference only)
        const until = performance.now() + mode.spinUs / 1000
        while (performance.now() < until);
      }
      const t = now()
      dc?.send(data)
      mode.sendBlock.push(now() - t)
      return
    }
    case 'count': {
      const m = mode
      const view = new DataView(data)
      if (data.byteLength >= 4 && view.getUint32(0) !== m.count) m.outOfOrder++
      m.count++
      m.bytes += data.byteLength
      if (m.count === m.n) {
        const tLast = now()
        const cpu = process.cpuUsage(m.cpu0)
        emit('counted', {
          tLast,
          count: m.count,
          bytes: m.bytes,
          outOfOrder: m.outOfOrder,
          cpuUs: cpu.user + cpu.system,
        })
        mode = { kind: 'idle' }
      }
      return
    }
    case 'ping':
      mode.onMessage(data)
      return
    default:
  }
}

function setupChannel(channel: RTCDataChannel): void {
  dc = channel
  channel.binaryType = 'arraybuffer'
  channel.onmessage = onMessage
  const opened = (): void => emit('open', { t: now(), label: channel.label, ordered: channel.ordered })
  if (channel.readyState === 'open') opened()
  else channel.onopen = opened
  channel.onclose = () => {
    if (!closed) emit('error', { message: 'data channel closed' })
  }
}

pc.onicecandidate = (ev) => {
  const c = ev.candidate
  if (!c) return
  if (!loopbackOnly(c.candidate)) return
  emit('signal', {
    data: { candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } },
  })
}
pc.ondatachannel = (ev) => setupChannel(ev.channel)

async function start(): Promise<void> {
  if (role !== 'offerer') return
  setupChannel(pc.createDataChannel('bench', { ordered: true }))
  const offer = await pc.createOffer()
  await pc.setLocalDescription(offer)
  emit('signal', { data: { type: offer.type, sdp: offer.sdp } })
}

async function onSignal(data: {
  type?: RTCSdpType
  sdp?: string
  candidate?: RTCIceCandidateInit
}): Promise<void> {
  if (data.type && data.sdp !== undefined) {
    await pc.setRemoteDescription({ type: data.type, sdp: data.sdp })
    if (data.type === 'offer') {
      const answer = await pc.createAnswer()
      await pc.setLocalDescription(answer)
      emit('signal', { data: { type: answer.type, sdp: answer.sdp } })
    }
    return
  }
  if (data.candidate && loopbackOnly(String(data.candidate.candidate ?? ''))) {
    await pc.addIceCandidate(data.candidate)
  }
}

function channel(): RTCDataChannel {
  if (!dc || dc.readyState !== 'open') throw new Error('data channel not open')
  return dc
}

/** Send `n` messages of `size` bytes, keeping at most `highWater` bytes buffered in wrtc. */
async function throughput(c: Command): Promise<void> {
  const ch = channel()
  const n = num(c, 'n')
  const size = num(c, 'size')
  const highWater = num(c, 'highWater', 1024 * 1024)
  const maxMs = num(c, 'maxMs', 20_000)
  const pollMs = num(c, 'pollMs', 1)
  const body = new Uint8Array(size)
  globalThis.crypto.getRandomValues(body.subarray(0, Math.min(size, 65536)))
  const view = new DataView(body.buffer)
  let sent = 0
  let maxBuffered = 0
  const cpu0 = process.cpuUsage()
  const tFirst = now()
  const deadline = tFirst + maxMs
  // Reading bufferedAmount costs about as much as a send() in wrtc (a synchronous hop to its
  // signaling thread), so it is read once per `checkBytes` sent, not before every send.
  const checkEvery = Math.max(1, Math.floor(num(c, 'checkBytes', 64 * 1024) / Math.max(1, size)))
  let buffered = ch.bufferedAmount
  while (sent < n) {
    while (sent < n && buffered < highWater) {
      const end = Math.min(n, sent + checkEvery)
      for (; sent < end; sent++) {
        if (size >= 4) view.setUint32(0, sent)
        ch.send(body)
      }
      buffered = ch.bufferedAmount
    }
    maxBuffered = Math.max(maxBuffered, buffered)
    if (sent >= n) break
    if (now() > deadline || ch.readyState !== 'open') break
    await sleep(pollMs)
    buffered = ch.bufferedAmount
  }
  const tEnd = now()
  const cpu = process.cpuUsage(cpu0)
  emit('sent', { tFirst, tEnd, sent, maxBuffered, cpuUs: cpu.user + cpu.system, timedOut: sent < n })
}

/** Round trips of one small message at a time (the peer echoes). */
async function rtt(c: Command): Promise<void> {
  const ch = channel()
  const n = num(c, 'n')
  const warmup = num(c, 'warmup', 50)
  const size = num(c, 'size', 32)
  const maxMs = num(c, 'maxMs', 20_000)
  const body = new Uint8Array(size)
  const samples: number[] = []
  const sendBlock: number[] = []
  const deadline = now() + maxMs
  let resolve: (() => void) | undefined
  mode = {
    kind: 'ping',
    onMessage: () => {
      const r = resolve
      resolve = undefined
      r?.()
    },
  }
  for (let i = 0; i < warmup + n && now() < deadline; i++) {
    const got = new Promise<void>((r) => {
      resolve = r
    })
    const t0 = now()
    ch.send(body)
    if (i >= warmup) sendBlock.push(now() - t0)
    const timer = sleep(Math.max(1, deadline - now())).then(() => 'timeout' as const)
    if ((await Promise.race([got.then(() => 'ok' as const), timer])) === 'timeout') break
    if (i >= warmup) samples.push(now() - t0)
  }
  mode = { kind: 'idle' }
  emit('rtt', {
    samples,
    sendBlock: sendBlock.length > 0 ? median(sendBlock) : undefined,
    timedOut: samples.length < n,
  })
}

function shutdown(code = 0): void {
  if (closed) return
  closed = true
  try {
    dc?.close()
  } catch {
    // closing anyway
  }
  try {
    pc.close()
  } catch {
    // already closed
  }
  // give wrtc a moment to tear its threads down, then leave
  setTimeout(() => process.exit(code), 50)
}

async function handle(c: Command): Promise<void> {
  switch (c.cmd) {
    case 'start':
      await start()
      return
    case 'signal':
      await onSignal(c.data as Parameters<typeof onSignal>[0])
      return
    case 'count':
      mode = { kind: 'count', n: num(c, 'n'), count: 0, bytes: 0, outOfOrder: 0, cpu0: process.cpuUsage() }
      emit('armed')
      return
    case 'echo':
      mode = { kind: 'echo', spinUs: num(c, 'spinUs', 0), sendBlock: [] }
      emit('echoing')
      return
    case 'idle': {
      // an echo reports how long its send() calls blocked (median, ms)
      const blocks = mode.kind === 'echo' ? mode.sendBlock : []
      mode = { kind: 'idle' }
      emit('idle', blocks.length > 0 ? { sendBlock: median(blocks) } : {})
      return
    }
    case 'throughput':
      await throughput(c)
      return
    case 'rtt':
      await rtt(c)
      return
    case 'exit':
      shutdown(0)
      return
    default:
      throw new Error(`unknown command ${String(c.cmd)}`)
  }
}

serveCommands(handle, () => shutdown(0), { role })
