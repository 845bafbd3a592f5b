/**
 * Benchmark child: one Conclave party in its own process, as real parties run: WebCrypto keys
 * with node:crypto's synchronous Ed25519 and SHA-256, and its ChaCha20-Poly1305
 * (`createNodeCrypto`), the webrtc transport
 * (simple-peer on @roamhq/wrtc, no STUN host, loopback candidates only) and the signaling client.
 * The orchestrator (`run.ts`) drives it over stdin/stdout.
 *
 * Protocol: JSON lines. Commands on stdin `{ "cmd": … }`, reports on stdout `{ "ev": … }`.
 *
 * - `prepare` → a fresh identity → `prepared { id }`
 * - `up { url, room, peers, timeoutMs }` → start the signaling client and the party, wait until
 *   every one of `peers` is ready (connected and handshaken) → `up { t0, tRegistered, tFirstReady, tReady }`
 * - `down` → stop the party and the signaling client, close every RTCPeerConnection → `down`
 * - `session { sid, participants }` → open a session → `session`; `session-close { sid }` → `session-closed`
 * - `recv { sid, from, n, creditEvery, maxMs }` → `armed`, then `received { tLast, count, bytes, outOfOrder, … }`;
 *   `expect { n }` lowers the count waited for (the sender had sends refused)
 * - `send { sid, to, n, size, batch, window, highWater, watch, maxMs }` → `sent { tFirst, tEnd, … }`
 * - `echo { sid, from, n, maxMs }` → `echoing`, then `echoed { count }`
 * - `ping { sid, to, n, warmup, size, maxMs }` → `rtt { samples }`
 * - `sum { sid, participants, input }` → `sum { t0, t1, total }` (runSecureSum)
 * - `frost-dkg { sid, participants, threshold }` → `frost-dkg { t0, t1, cpuUs, groupPublicKey, index }`
 *   (runFrostDkg); the key share stays in this process (replacing any earlier one, wiped by
 *   `down` and `prepare`), never reported
 * - `frost-sign { sid, participants, message }` → `frost-sign { t0, t1, cpuUs, signature, groupPublicKey }`
 *   (runFrostSign with that key share, on a fresh session among `participants`, the signers;
 *   `message` and `signature` in hex)
 * - `phases` → `phases { … }`: the cost of each step of the message path, measured in-process
 * - `exit` → `down`, then exit
 *
 * Every loop is bounded in count and in time (`maxMs`); a stalled run reports what it got.
 * @module
 */
import { createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import {
  batchSignedBytes,
  createNobleBackend,
  createNodeCrypto,
  createParty,
  createSignalingClient,
  createWebRtcTransport,
  decodeFrame,
  decodeRecords,
  decodeUnit,
  encodeFrameHeader,
  encodePayload,
  encodeUnit,
  envelopeSignedBytes,
  FRAME_HEADER_BYTES,
  FrameType,
  frameNonce,
  generateIdentity,
  type Identity,
  loopbackOnly,
  Packer,
  type Party,
  type PartyId,
  parsePartyId,
  parseSessionId,
  RecordType,
  type Session,
  type SignalingClient,
  type SimplePeerConstructor,
  type SimplePeerInstance,
  toHex,
} from '@conclave/core/node'
import { type FrostKeyShare, runFrostDkg, runFrostSign, runSecureSum } from '@conclave/protocols'
import { median } from './stats.ts'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc') as unknown
const SimplePeer = require('simple-peer') as SimplePeerConstructor

type Command = { cmd: string } & Record<string, unknown>

const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function emit(ev: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, ...data })}\n`)
}

function num(c: Command, key: string, fallback?: number): number {
  const v = c[key] ?? fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`"${key}" expected a number`)
  return v
}

function str(c: Command, key: string): string {
  const v = c[key]
  if (typeof v !== 'string') throw new Error(`"${key}" expected a string`)
  return v
}

/**
 * Every simple-peer the transport creates, so that the bench can read the data channel's
 * `bufferedAmount` (Conclave exposes no backpressure to the application) and close every
 * RTCPeerConnection at the end whatever state it is in.
 */
const peers = new Set<SimplePeerInstance>()
/** When the last frame was handed to wrtc's `send()`, and when the last one arrived from it. */
/** When the last frame entered wrtc's `send()`, how long that call blocked, when the last frame arrived. */
const trace = { lastSendAt: 0, lastSendMs: 0, lastDataAt: 0 }
const TrackedSimplePeer = function TrackedSimplePeer(opts: ConstructorParameters<SimplePeerConstructor>[0]) {
  const sp = new SimplePeer(opts)
  peers.add(sp)
  // timestamps only: registered before the transport's own listener, so they see a frame first
  sp.on('data', () => {
    trace.lastDataAt = now()
  })
  const send = sp.send.bind(sp)
  sp.send = (data: Uint8Array) => {
    trace.lastSendAt = now()
    send(data)
    trace.lastSendMs = now() - trace.lastSendAt
  }
  return sp
} as unknown as SimplePeerConstructor

/**
 * An abort signal that fires after `ms` unless cleared. A plain timer and controller: a signal
 * from `AbortSignal.timeout()` that only `AbortSignal.any()` refers to can be garbage-collected
 * before it fires (Node keeps weak references to the sources of `any`).
 */
function timeLimit(ms: number, also?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error(`time limit of ${ms} ms`)), ms)
  const onAlso = (): void => controller.abort(also?.reason)
  also?.addEventListener('abort', onAlso, { once: true })
  if (also?.aborted) onAlso()
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      also?.removeEventListener('abort', onAlso)
    },
  }
}

/** `CODE: message` of a ConclaveError, the message of any other error. */
function describeError(e: unknown): string {
  const code = (e as { code?: unknown })?.code
  const message = e instanceof Error ? e.message : String(e)
  return typeof code === 'string' ? `${code}: ${message}` : message
}

/** CPU time of this whole process (every thread: wrtc's, libuv's pool) in µs since `since`. */
function cpuSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return d.user + d.system
}

/** Frames sent and received so far on webrtc links. */
function frames(): { sent: number; received: number } {
  const t = party?.counters().byTransport.webrtc
  return { sent: t?.framesSent ?? 0, received: t?.framesReceived ?? 0 }
}

/** Bytes queued in wrtc on every open data channel of this party. */
function bufferedAmount(): number {
  let total = 0
  for (const sp of peers) {
    if (sp.destroyed) {
      peers.delete(sp)
      continue
    }
    total += sp._channel?.bufferedAmount ?? 0
  }
  return total
}

function closeAllPeers(): void {
  for (const sp of peers) {
    const pc = sp._pc
    try {
      sp.destroy()
    } catch {
      // already destroyed
    }
    try {
      pc?.close()
    } catch {
      // already closed
    }
  }
  peers.clear()
}

const crypto = createNodeCrypto()
/** `BENCH_TRACE=1`: party events on stderr (the orchestrator shows them with `BENCH_VERBOSE=1`). */
const TRACE = process.env.BENCH_TRACE === '1'
let identity: Identity | undefined
let party: Party | undefined
let signaling: SignalingClient | undefined
const sessions = new Map<string, Session>()
/** This party's share of the last FROST key generated (`frost-dkg`), for `frost-sign`. */
let frostKey: FrostKeyShare | undefined
const drops = new Map<string, number>()

function dropCounts(): Record<string, number> {
  return Object.fromEntries(drops)
}

/** Erase the FROST key share held, if any. */
function forgetFrostKey(): void {
  frostKey?.secretShare.wipe()
  frostKey = undefined
}

async function prepare(): Promise<void> {
  forgetFrostKey()
  identity = await generateIdentity(crypto)
  emit('prepared', { id: identity.id })
}

async function up(c: Command): Promise<void> {
  if (!identity) throw new Error('prepare first')
  if (party) throw new Error('already up')
  const id = identity
  const url = str(c, 'url')
  const room = str(c, 'room')
  const want = (c.peers as string[]).map((p) => parsePartyId(p))
  const timeoutMs = num(c, 'timeoutMs', 15_000)
  drops.clear()
  const t0 = now()
  let tRegistered = Number.NaN
  let tFirstReady = Number.NaN
  signaling = createSignalingClient({
    url,
    publicKey: id.key.publicKey,
    sign: (b) => crypto.ed25519.sign(id.key, b),
  })
  signaling.on('registered', () => {
    if (Number.isNaN(tRegistered)) tRegistered = now()
  })
  void signaling.start().catch(() => undefined)
  const transport = createWebRtcTransport({
    signaling,
    room,
    SimplePeer: TrackedSimplePeer,
    wrtc,
    iceServers: [],
    candidateFilter: loopbackOnly,
  })
  party = createParty({ identity: id.key, crypto, transport })
  party.on('drop', (ev) => drops.set(ev.code, (drops.get(ev.code) ?? 0) + 1))
  party.on('peer', (ev) => {
    if (ev.state === 'ready' && Number.isNaN(tFirstReady)) tFirstReady = now()
  })
  if (TRACE) {
    const label = id.id.slice(0, 6)
    party.on('event', (ev) => {
      if (ev.type === 'message') return
      const { type, ...rest } = ev
      const fields = Object.entries(rest).map(
        ([k, v]) => `${k}=${typeof v === 'string' && v.length === 64 ? v.slice(0, 6) : JSON.stringify(v)}`,
      )
      process.stderr.write(`${(now() - t0).toFixed(1)} ms ${label} ${type} ${fields.join(' ')}\n`)
    })
  }
  const p = party
  try {
    await p.start({ signal: AbortSignal.timeout(timeoutMs) })
    const left = Math.max(1, timeoutMs - (now() - t0))
    // The room's auto-connect makes the links. `waitForPeers` would also call `connect()` for a
    // peer that has not joined the room yet: that offer is refused by the server and the attempt
    // then waits for its 15 s connect timeout (see README), so it is opt-in here.
    if (c.waitForPeers === true) await p.waitForPeers(want, { timeoutMs: left })
    else await untilReady(p, want, left)
  } catch (e) {
    emit('up', {
      ok: false,
      error: e instanceof Error ? e.message : String(e),
      t0,
      tRegistered,
      ready: party.peers().length,
    })
    return
  }
  const tReady = now()
  emit('up', { ok: true, t0, tRegistered, tFirstReady, tReady, peers: party.peers().length })
}

/** Resolve when every one of `want` is a ready peer of `p` (party events only, no `connect()`). */
function untilReady(p: Party, want: readonly PartyId[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const missing = (): PartyId[] => {
      const ready = new Set(p.peers().map((x) => x.peer))
      return want.filter((w) => !ready.has(w))
    }
    const done = (e?: Error): void => {
      off()
      clearTimeout(timer)
      if (e) reject(e)
      else resolve()
    }
    const check = (): void => {
      if (missing().length === 0) done()
    }
    const off = p.on('peer', check)
    const timer = setTimeout(
      () => done(new Error(`peers not ready after ${timeoutMs} ms: ${missing().length} of ${want.length}`)),
      timeoutMs,
    )
    check()
  })
}

async function down(): Promise<void> {
  forgetFrostKey()
  for (const s of sessions.values()) s.close()
  sessions.clear()
  const p = party
  party = undefined
  try {
    await p?.stop()
  } catch {
    // stopping anyway
  }
  signaling?.stop()
  signaling = undefined
  closeAllPeers()
  emit('down')
}

function openSession(c: Command): void {
  if (!party) throw new Error('not up')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = (c.participants as string[]).map((p) => parsePartyId(p))
  sessions.set(sid, party.session({ id: sid, participants, roundTimeoutMs: 600_000 }))
  emit('session', { sid })
}

function session(c: Command): Session {
  const s = sessions.get(str(c, 'sid'))
  if (!s) throw new Error('no such session')
  return s
}

/**
 * The receive loop in progress: its target (lowered by `expect` when the sender had sends
 * refused) and what stops it early.
 */
let recvTarget = { n: 0, count: 0, stop: new AbortController() }

async function recv(c: Command): Promise<void> {
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
async function send(c: Command): Promise<void> {
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

async function echo(c: Command): Promise<void> {
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

async function ping(c: Command): Promise<void> {
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

async function sum(c: Command): Promise<void> {
  if (!party) throw new Error('not up')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = (c.participants as string[]).map((p) => parsePartyId(p))
  const input = BigInt(str(c, 'input'))
  const t0 = now()
  const s = party.session({ id: sid, participants, roundTimeoutMs: 20_000 })
  try {
    const total = await runSecureSum(s, input)
    emit('sum', { ok: true, t0, t1: now(), total: total.toString() })
  } catch (e) {
    emit('sum', { ok: false, t0, t1: now(), error: e instanceof Error ? e.message : String(e) })
  } finally {
    s.close()
  }
}

/** The participants of a command (`participants`: PartyIds). */
function participantsOf(c: Command): PartyId[] {
  const list = c.participants
  if (!Array.isArray(list)) throw new Error('"participants" expected an array of PartyIds')
  return list.map((p) => parsePartyId(String(p)))
}

/**
 * FROST key generation among `participants` (this party one of them), timed from before the
 * session opens to the key share. The key share replaces any earlier one.
 */
async function frostDkg(c: Command): Promise<void> {
  if (!party) throw new Error('not up')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = participantsOf(c)
  const threshold = num(c, 'threshold')
  forgetFrostKey()
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const s = party.session({ id: sid, participants, roundTimeoutMs: 20_000 })
  try {
    const key = await runFrostDkg(s, { threshold })
    const t1 = now()
    frostKey = key
    emit('frost-dkg', {
      ok: true,
      t0,
      t1,
      cpuUs: cpuSince(cpu0),
      groupPublicKey: key.groupPublicKey,
      index: key.index,
    })
  } catch (e) {
    emit('frost-dkg', { ok: false, t0, t1: now(), error: describeError(e) })
  } finally {
    s.close()
  }
}

/**
 * FROST signing of `message` (hex) with the key share of the last `frost-dkg`, on a fresh
 * session whose participants are the signers.
 */
async function frostSign(c: Command): Promise<void> {
  if (!party) throw new Error('not up')
  if (!frostKey) throw new Error('no FROST key share: run frost-dkg first')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = participantsOf(c)
  const hex = str(c, 'message')
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error('"message" expected lowercase hex')
  const message = Uint8Array.from(Buffer.from(hex, 'hex'))
  const key = frostKey
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const s = party.session({ id: sid, participants, roundTimeoutMs: 20_000 })
  try {
    const signature = await runFrostSign(s, key, message)
    const t1 = now()
    emit('frost-sign', {
      ok: true,
      t0,
      t1,
      cpuUs: cpuSince(cpu0),
      signature: toHex(signature),
      groupPublicKey: key.groupPublicKey,
    })
  } catch (e) {
    emit('frost-sign', { ok: false, t0, t1: now(), error: describeError(e) })
  } finally {
    s.close()
  }
}

/** Time `fn` over `n` runs (or until `maxMs`); returns µs per run. */
async function perOp(n: number, fn: (i: number) => unknown, maxMs = 2000): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(i)
  const t0 = performance.now()
  let i = 0
  for (; i < n && performance.now() - t0 < maxMs; i++) await fn(i)
  return ((performance.now() - t0) * 1000) / i
}

/** µs per operation with `inFlight` operations in flight at once. */
async function perOpParallel(
  n: number,
  inFlight: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  await Promise.all(Array.from({ length: inFlight }, (_, i) => fn(i)))
  const t0 = performance.now()
  for (let i = 0; i < n; i += inFlight) {
    await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, (_, j) => fn(i + j)))
  }
  return ((performance.now() - t0) * 1000) / n
}

/** The cost of each step of Conclave's message path, measured in this process (no network). */
async function phases(): Promise<void> {
  const id = identity ?? (await generateIdentity(crypto))
  const key = await crypto.ed25519.generate()
  const aeadKey = crypto.randomBytes(32)
  const sessionId = crypto.randomBytes(32)
  const epoch = crypto.randomBytes(16)
  const recipient = crypto.randomBytes(32)
  const ts = BigInt(Date.now())
  const out: Record<string, number> = {}
  for (const size of [256, 65536]) {
    const body = crypto.randomBytes(size)
    const fields = { sessionId, round: 1, kind: 'msg', from: id.key.publicKey, epoch, seq: 1n, body }
    const payload = encodePayload(fields)
    const signed = envelopeSignedBytes(payload, recipient, ts)
    const signature = await crypto.ed25519.sign(key, signed)
    const unit = encodeUnit(payload, recipient, ts, signature)
    const reps = size > 1024 ? 500 : 3000
    out[`encode_${size}_us`] = await perOp(reps, () =>
      encodeUnit(encodePayload(fields), recipient, ts, signature),
    )
    out[`decode_${size}_us`] = await perOp(reps, () => decodeUnit(unit))
    out[`sign_${size}_us`] = await perOp(reps, () => crypto.ed25519.sign(key, signed))
    out[`sign_${size}_64inflight_us`] = await perOpParallel(reps, 64, () => crypto.ed25519.sign(key, signed))
    out[`verify_${size}_us`] = await perOp(reps, () =>
      crypto.ed25519.verify(key.publicKey, signed, signature),
    )
    out[`verify_${size}_64inflight_us`] = await perOpParallel(reps, 64, () =>
      crypto.ed25519.verify(key.publicKey, signed, signature),
    )
    // one frame's worth: the packer coalesces (256 B) or chunks (64 KiB), then AEAD per frame
    const units = size > 1024 ? 1 : Math.floor(60_000 / (unit.length + 5))
    const packer = new Packer(65536)
    let frames: Uint8Array[] = []
    out[`pack_${size}_per_unit_us`] =
      (await perOp(reps / 10, () => {
        for (let i = 0; i < units; i++) packer.push({ type: RecordType.unit, unit })
        frames = packer.drain()
      })) / units
    const plain = frames[0]!
    const header = encodeFrameHeader(FrameType.data, 7n)
    const sealed = crypto.aead.seal(aeadKey, frameNonce(7n), header, plain)
    out[`seal_frame_${plain.length}B_us`] = await perOp(reps / 10, () =>
      crypto.aead.seal(aeadKey, frameNonce(7n), header, plain),
    )
    const frame = new Uint8Array(FRAME_HEADER_BYTES + sealed.length)
    frame.set(header, 0)
    frame.set(sealed, FRAME_HEADER_BYTES)
    out[`open_frame_${plain.length}B_us`] = await perOp(reps / 10, () => {
      const raw = decodeFrame(frame)
      decodeRecords(crypto.aead.open(aeadKey, frameNonce(raw.counter), raw.header, raw.body))
    })
    out[`units_per_frame_${size}`] = units
    // in a batch (DESIGN "Envelope"): a SHA-256 per envelope and one signature for all of them
    const n = size > 1024 ? 16 : 256
    const items = Array.from({ length: n }, () => signed)
    const digestsOf = (): Uint8Array => {
      const d = new Uint8Array(32 * n)
      for (const [i, it] of items.entries()) d.set(crypto.sha256!([it]), 32 * i)
      return d
    }
    const batchSig = crypto.ed25519.signSync!(key, batchSignedBytes(digestsOf()))
    out[`batch_sign_${size}_per_unit_us`] =
      (await perOp(reps / n + 20, () => crypto.ed25519.signSync!(key, batchSignedBytes(digestsOf())))) / n
    out[`batch_verify_${size}_per_unit_us`] =
      (await perOp(reps / n + 20, () =>
        crypto.ed25519.verifySync!(key.publicKey, batchSignedBytes(digestsOf()), batchSig),
      )) / n
  }
  // for comparison: node:crypto's one-shot synchronous Ed25519 (no WebCrypto promise, no pool hop)
  const pair = generateKeyPairSync('ed25519')
  for (const size of [256, 65536]) {
    const msg = crypto.randomBytes(size + 150)
    const sig = nodeSign(null, msg, pair.privateKey)
    const reps = size > 1024 ? 500 : 3000
    out[`node_sync_sign_${size}_us`] = await perOp(reps, () => nodeSign(null, msg, pair.privateKey))
    out[`node_sync_verify_${size}_us`] = await perOp(reps, () => nodeVerify(null, msg, pair.publicKey, sig))
    // what a unit costs in a batch signature (DESIGN "Batch": one signature over SHA-256 digests)
    out[`sha256_unit_${size}_us`] = await perOp(reps, () => createHash('sha256').update(msg).digest())
  }
  // the noble backend (browsers without WebCrypto Ed25519; the signaling server's default verify)
  const noble = createNobleBackend()
  const nobleKey = await noble.ed25519.generate({ extractable: true })
  const nobleMsg = crypto.randomBytes(400)
  const nobleSig = await noble.ed25519.sign(nobleKey, nobleMsg)
  out.noble_verify_400_us = await perOp(300, () =>
    noble.ed25519.verify(nobleKey.publicKey, nobleMsg, nobleSig),
  )
  out.microtask_hop_us = await perOp(20_000, () => Promise.resolve())
  out.set_immediate_hop_us = await perOp(5000, () => new Promise<void>((r) => setImmediate(r)))
  out.ab_timeout_signal_us = await perOp(5000, () => AbortSignal.timeout(30_000))
  emit('phases', { us: out })
}

let exiting = false
async function exit(code = 0): Promise<void> {
  if (exiting) return
  exiting = true
  try {
    await Promise.race([down(), sleep(3000)])
  } finally {
    closeAllPeers()
    setTimeout(() => process.exit(code), 50)
  }
}

async function handle(c: Command): Promise<void> {
  switch (c.cmd) {
    case 'prepare':
      return prepare()
    case 'up':
      return up(c)
    case 'down':
      return down()
    case 'session':
      return openSession(c)
    case 'session-close': {
      const sid = str(c, 'sid')
      sessions.get(sid)?.close()
      sessions.delete(sid)
      emit('session-closed', { sid })
      return
    }
    case 'recv':
      return recv(c)
    case 'expect': {
      // the sender had sends refused: wait only for the ones it got in
      recvTarget.n = num(c, 'n')
      if (recvTarget.count >= recvTarget.n) recvTarget.stop.abort()
      return
    }
    case 'send':
      return send(c)
    case 'echo':
      return echo(c)
    case 'ping':
      return ping(c)
    case 'sum':
      return sum(c)
    case 'frost-dkg':
      return frostDkg(c)
    case 'frost-sign':
      return frostSign(c)
    case 'phases':
      return phases()
    case 'exit':
      return exit(0)
    default:
      throw new Error(`unknown command ${String(c.cmd)}`)
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let c: Command
    try {
      c = JSON.parse(line) as Command
    } catch {
      return
    }
    handle(c).catch((e: unknown) =>
      emit('error', { cmd: c.cmd, message: e instanceof Error ? e.message : String(e) }),
    )
  })
  .on('close', () => void exit(0))

emit('loaded', { pid: process.pid })
