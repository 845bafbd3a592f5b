/**
 * The relay and hybrid transports against a real signaling server on 127.0.0.1 and real
 * signaling clients; WebRTC (when there is any) over @roamhq/wrtc with loopback candidates and
 * no STUN/TURN server. Every party, transport, client, server and RTCPeerConnection is stopped
 * in afterEach (peer connections are also checked closed where tests make them).
 */
import {
  type ErrorCode,
  generateIdentity,
  type Identity,
  type Party,
  type PartyEvent,
  type PartyId,
  type Session,
  utf8,
} from '@conclave/core'
import { createParty } from '@conclave/core/host'
import { createNodeCrypto, createRoomParty, joinRoom, type NodeJoinRoomOptions } from '@conclave/core/node'
import {
  createSignalingClient,
  type SignalData,
  type SignalEvent,
  type SignalingClient,
} from '@conclave/core/signaling'
import {
  createHybridTransport,
  createRelayTransport,
  type HybridTransport,
  type HybridTransportOptions,
  type Link,
  loopbackOnly,
  type SimplePeerConstructor,
  type SimplePeerInstance,
  type SimplePeerSignal,
  type Transport,
} from '@conclave/core/transport'
import { decodeRelayMessage, FrameType, frameNonce, RelayKind } from '@conclave/core/wire'
import { runSecureSum, SECURE_SUM } from '@conclave/protocols'
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerOptions,
} from '@conclave/signaling-server'
import { runTransportTests } from '@conclave/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { loadSimplePeer, loadWrtc } from '../src/node-party.ts'
import { transportPair } from './signaling-room.ts'
import { startWireTap, wsMessages } from './ws-capture.ts'

const crypto = createNodeCrypto()
const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c()
    } catch {
      // keep cleaning up
    }
  }
})

// ── helpers ─────────────────────────────────────────────────────────────────────────────

async function startServer(
  options: Partial<SignalingServerOptions> = {},
): Promise<{ server: SignalingServer; url: string; port: number }> {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error', ...options })
  const { url, port } = await server.start()
  cleanups.push(() => server.stop())
  return { server, url, port }
}

async function client(
  url: string,
  identity?: Identity,
): Promise<{ id: Identity; signaling: SignalingClient }> {
  const id = identity ?? (await generateIdentity(crypto))
  const signaling = createSignalingClient({
    url,
    publicKey: id.key.publicKey,
    sign: (b) => crypto.ed25519.sign(id.key, b),
  })
  cleanups.push(() => signaling.stop())
  void signaling.start().catch(() => undefined)
  return { id, signaling }
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve()
      else if (Date.now() > end) reject(new Error(`timed out waiting for ${what}`))
      else setTimeout(tick, 20)
    }
    tick()
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function nextLink(t: Transport, ms = 20_000): Promise<Link> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no link announced')), ms)
    const off = t.onLink((l) => {
      clearTimeout(timer)
      off()
      resolve(l)
    })
  })
}

function frames(link: Link, n: number, ms = 20_000): Promise<Uint8Array[]> {
  const got: Uint8Array[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} frames`)), ms)
    link.onMessage((f) => {
      got.push(f)
      if (got.length === n) {
        clearTimeout(timer)
        resolve(got)
      }
    })
  })
}

function closeCode(link: Link): Promise<ErrorCode> {
  return new Promise((resolve) => link.onClose((code) => resolve(code)))
}

function relayTransport(c: { signaling: SignalingClient }, room: string, extra = {}) {
  const t = createRelayTransport({ signaling: c.signaling, room, ...extra })
  cleanups.push(() => t.stop())
  return t
}

function partyOver(id: Identity, transport: Transport): { party: Party; events: PartyEvent[] } {
  const party = createParty({ identity: id.key, crypto, transport })
  cleanups.push(() => party.stop())
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  return { party, events }
}

const MODULUS = 1n << 128n
function encode128(v: bigint): Uint8Array {
  const out = new Uint8Array(16)
  let x = ((v % MODULUS) + MODULUS) % MODULUS
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}
function decode128(b: Uint8Array): bigint {
  let x = 0n
  for (const byte of b) x = (x << 8n) | BigInt(byte)
  return x
}

/** secure-sum between two parties (a proposes, b joins); `randomBytes` fixes each party's share. */
async function secureSum(
  a: Party,
  b: Party,
  inputs: readonly [bigint, bigint],
  shares?: readonly [Uint8Array, Uint8Array],
): Promise<{ totals: bigint[]; sessions: [Session, Session] }> {
  const opts = (i: 0 | 1) => (shares ? { randomBytes: () => shares[i].slice() } : {})
  const joined = new Promise<[bigint, Session]>((resolve, reject) => {
    const off = b.on('proposal', (ev) => {
      off()
      const s = b.join(ev.proposal.sessionId)
      runSecureSum(s, inputs[1], opts(1)).then((t) => resolve([t, s]), reject)
    })
  })
  const s0 = await a.propose({ protocol: SECURE_SUM, participants: [a.id, b.id] })
  const [t0, [t1, s1]] = await Promise.all([runSecureSum(s0, inputs[0], opts(0)), joined])
  return { totals: [t0, t1], sessions: [s0, s1] }
}

/**
 * simple-peer, keeping every instance and its RTCPeerConnection to check they were closed.
 * While `direct()` is false no ICE candidate reaches a connection (neither trickled nor inside
 * an offer or answer), so no direct path can form: the "network" between the parties is closed.
 */
function trackedSimplePeer(direct: () => boolean = () => true): {
  SimplePeer: SimplePeerConstructor
  peers: SimplePeerInstance[]
  pcs: RTCPeerConnection[]
} {
  const Real = loadSimplePeer()
  const peers: SimplePeerInstance[] = []
  const pcs: RTCPeerConnection[] = []
  function Tracked(opts: ConstructorParameters<SimplePeerConstructor>[0]): SimplePeerInstance {
    const sp = new Real(opts)
    peers.push(sp)
    if (sp._pc) pcs.push(sp._pc)
    const signal = sp.signal.bind(sp)
    sp.signal = (data: SimplePeerSignal) => {
      if (direct()) return signal(data)
      if (data.candidate) return
      signal(data.sdp === undefined ? data : { ...data, sdp: withoutCandidates(data.sdp) })
    }
    return sp
  }
  return { SimplePeer: Tracked as unknown as SimplePeerConstructor, peers, pcs }
}

function withoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate') && !line.startsWith('a=end-of-candidates'))
    .join('\r\n')
}

function expectAllClosed(t: ReturnType<typeof trackedSimplePeer>): void {
  expect(t.peers.every((sp) => sp.destroyed)).toBe(true)
  expect(t.pcs.map((pc) => pc.signalingState).filter((s) => s !== 'closed')).toEqual([])
}

/** A party of `room` on the hybrid transport, made by `createRoomParty` (events recorded from its start). */
async function hybridParty(
  url: string,
  room: string,
  options: Pick<NodeJoinRoomOptions, 'webrtc' | 'hybrid'>,
): Promise<{ id: Identity; transport: HybridTransport; party: Party; events: PartyEvent[] }> {
  const id = await generateIdentity(crypto)
  const r = await createRoomParty({ signaling: url, room, identity: id, transport: 'hybrid', ...options })
  cleanups.push(() => r.stop())
  const events: PartyEvent[] = []
  r.party.on('event', (e) => events.push(e))
  await r.start()
  return { id, transport: r.transport as HybridTransport, party: r.party, events }
}

/**
 * Stop parties linked over wrtc one by one, each once the others have seen the previous one go.
 * @roamhq/wrtc can crash in RTCDataChannel.send when the far end's connection closes during the
 * call (both ends live in this process), so nobody should be sending when a connection goes:
 * first let the last acks out, then stop a party only after its peers have dropped the link.
 */
async function stopQuietly(...parties: Party[]): Promise<void> {
  await sleep(250)
  for (const [i, p] of parties.entries()) {
    await p.stop()
    const rest = parties.slice(i + 1)
    await until(() => rest.every((r) => r.peers().length === 0), 5000, 'the stop to be seen').catch(
      () => undefined,
    )
  }
}

const peerTransport = (p: Party): string | undefined => p.peers()[0]?.transport

// ── the relay transport ─────────────────────────────────────────────────────────────────

runTransportTests('relay (through the signaling server)', () =>
  transportPair((signaling, room) => createRelayTransport({ signaling, room, autoConnect: false })),
)

describe('relay transport', () => {
  it('sizes links to the server: min(64 KiB, announced max payload − 6 bytes of framing)', async () => {
    const { url } = await startServer({ maxPayloadBytes: 4096 })
    const A = await client(url)
    const B = await client(url)
    const ta = relayTransport(A, 'small', { autoConnect: false })
    const tb = relayTransport(B, 'small', { autoConnect: false })
    await ta.start(A.id.id)
    await tb.start(B.id.id)
    const [la, lb] = await Promise.all([nextLink(ta), nextLink(tb), ta.connect(B.id.id)])
    expect(la.maxMessageSize).toBe(4090)
    expect(la.kind).toBe('relay')
    expect(la.fingerprints()).toBeUndefined()
    const got = frames(lb, 1)
    la.send(new Uint8Array(4090).fill(7))
    expect((await got)[0]).toEqual(new Uint8Array(4090).fill(7))
    expect(() => la.send(new Uint8Array(4091))).toThrowError(
      expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
    )
  })

  it('never hands a frame of an older relay link to a newer one (generations)', async () => {
    const { url } = await startServer()
    const A = await client(url)
    const B = await client(url)
    const sent: Uint8Array[] = []
    const relay = A.signaling.relay.bind(A.signaling)
    A.signaling.relay = (room, to, frame) => {
      sent.push(new Uint8Array(frame instanceof ArrayBuffer ? frame : frame.slice()))
      return relay(room, to, frame)
    }
    const ta = relayTransport(A, 'gen', { autoConnect: false })
    const tb = relayTransport(B, 'gen', { autoConnect: false })
    await ta.start(A.id.id)
    await tb.start(B.id.id)
    const [la1, lb1] = await Promise.all([nextLink(ta), nextLink(tb), ta.connect(B.id.id)])
    const first = frames(lb1, 1)
    la1.send(utf8('on the first link'))
    expect((await first)[0]).toEqual(utf8('on the first link'))
    const bClosed = closeCode(lb1)
    la1.close('LINK_CLOSED', 'done')
    expect(await bClosed).toBe('LINK_CLOSED')

    const [la2, lb2] = await Promise.all([nextLink(ta), nextLink(tb), ta.connect(B.id.id)])
    const decoded = sent.map((p) => decodeRelayMessage(p))
    const opens = decoded.filter((m) => m.kind === RelayKind.open).map((m) => m.generation)
    expect(opens).toHaveLength(2)
    expect(opens[0]).not.toBe(opens[1])
    const staleIndex = decoded.findIndex((m) => m.kind === RelayKind.frame)
    expect(decoded[staleIndex]!.generation).toBe(opens[0])

    // the network (or the server) replays a frame of the first link
    const atB: Uint8Array[] = []
    lb2.onMessage((f) => atB.push(f))
    expect(relay('gen', B.id.id, sent[staleIndex]!)).toBe(true)
    await sleep(300)
    expect(atB).toEqual([])
    expect(lb2.closed).toBe(false)
    expect(la2.closed).toBe(false)
    const second = frames(lb2, 1)
    la2.send(utf8('on the second link'))
    expect((await second)[0]).toEqual(utf8('on the second link'))
    expect(atB).toEqual([utf8('on the second link')])
  })

  it('closes a link with LINK_LOST when the signaling client cannot send a frame', async () => {
    const { url } = await startServer()
    const A = await client(url)
    const B = await client(url)
    const ta = relayTransport(A, 'down', { autoConnect: false })
    const tb = relayTransport(B, 'down', { autoConnect: false })
    await ta.start(A.id.id)
    await tb.start(B.id.id)
    const [la] = await Promise.all([nextLink(ta), nextLink(tb), ta.connect(B.id.id)])
    const lost = closeCode(la)
    A.signaling.relay = () => false // as when the socket is not registered
    la.send(utf8('would be lost'))
    expect(await lost).toBe('LINK_LOST')
    expect(() => la.send(new Uint8Array(1))).toThrowError(expect.objectContaining({ code: 'LINK_CLOSED' }))
  })

  it('closes a link with LINK_LOST when the peer leaves the room, and opens it again when it is back', async () => {
    const { url } = await startServer()
    const A = await client(url)
    const B = await client(url)
    const ta = relayTransport(A, 'leave', { autoConnect: false })
    const tb = relayTransport(B, 'leave', { autoConnect: false })
    await ta.start(A.id.id)
    await tb.start(B.id.id)
    const [la] = await Promise.all([nextLink(ta), nextLink(tb), ta.connect(B.id.id)])
    const lost = closeCode(la)
    await B.signaling.leave('leave')
    expect(await lost).toBe('LINK_LOST')
    // a wants the link: it is opened again once b is back in the room
    const again = Promise.all([nextLink(ta), nextLink(tb)])
    await B.signaling.join('leave')
    const [la2, lb2] = await again
    const got = frames(lb2, 1)
    la2.send(utf8('welcome back'))
    expect((await got)[0]).toEqual(utf8('welcome back'))
  })

  it('closes a link with LINK_LOST when the server refuses a payload (RATE_LIMITED); pacing keeps under the limit', async () => {
    // byte bucket: 200 kB, refilled at 100 kB/s
    const { url } = await startServer({ relayBytesPerSecond: 100_000 })
    const big = (i: number) => new Uint8Array(60_000).fill(i)

    const A = await client(url)
    const B = await client(url)
    const refusals: string[] = []
    A.signaling.on('error', (e) => refusals.push(`${e.code}:${e.details.event}:${e.details.to}`))
    const ta = relayTransport(A, 'burst', { autoConnect: false, pacing: false })
    const tb = relayTransport(B, 'burst', { autoConnect: false })
    await ta.start(A.id.id)
    await tb.start(B.id.id)
    const [la] = await Promise.all([nextLink(ta), nextLink(tb), ta.connect(B.id.id)])
    const lost = closeCode(la)
    for (let i = 0; i < 5; i++) la.send(big(i))
    expect(await lost).toBe('LINK_LOST')
    expect(refusals).toContain(`RATE_LIMITED:relay:${B.id.id}`)

    // the same burst, paced below the server's limit, arrives whole
    const C = await client(url)
    const D = await client(url)
    const tc = relayTransport(C, 'paced', {
      autoConnect: false,
      pacing: { bytesPerSecond: 80_000, byteBurst: 150_000 },
    })
    const td = relayTransport(D, 'paced', { autoConnect: false })
    await tc.start(C.id.id)
    await td.start(D.id.id)
    const [lc, ld] = await Promise.all([nextLink(tc), nextLink(td), tc.connect(D.id.id)])
    const got = frames(ld, 5)
    for (let i = 0; i < 5; i++) lc.send(big(i))
    expect(lc.bufferedAmount).toBeGreaterThan(0)
    expect(await got).toEqual([0, 1, 2, 3, 4].map(big))
    expect(lc.closed).toBe(false)
    expect(lc.bufferedAmount).toBe(0)
  })

  it('closes links with LINK_LOST when the signaling server goes, and links again when it is back', async () => {
    const { server, port, url } = await startServer()
    const A = await client(url)
    const B = await client(url)
    const options = { backoff: { initialMs: 50, maxMs: 200 } }
    const ta = relayTransport(A, 'restart', options)
    const tb = relayTransport(B, 'restart', options)
    const first = Promise.all([nextLink(ta), nextLink(tb)])
    await ta.start(A.id.id)
    await tb.start(B.id.id)
    const [la, lb] = await first // autoConnect: both ends asked, one link each
    const lost = Promise.all([closeCode(la), closeCode(lb)])
    const second = Promise.all([nextLink(ta, 30_000), nextLink(tb, 30_000)])
    await server.stop()
    expect(await lost).toEqual(['LINK_LOST', 'LINK_LOST'])

    const again = createSignalingServer({ host: '127.0.0.1', port, logLevel: 'error' })
    await again.start()
    cleanups.push(() => again.stop())
    const [la2, lb2] = await second
    expect(la2.peer).toBe(B.id.id)
    expect(lb2.peer).toBe(A.id.id)
    const got = frames(la2, 1)
    lb2.send(utf8('after the restart'))
    expect((await got)[0]).toEqual(utf8('after the restart'))
  }, 60_000)
})

// ── parties over the relay ──────────────────────────────────────────────────────────────

describe('parties over the relay', () => {
  it('complete secure-sum through the server, which sees ciphertext only', async () => {
    // every byte between the parties and the server goes through a recording TCP proxy
    const tap = await startWireTap()
    cleanups.push(() => tap.close())
    const { port } = await startServer({ origin: tap.url })
    tap.target = port
    const [A, B] = await Promise.all(
      [0, 1].map(async () => {
        const r = await joinRoom({
          signaling: tap.url,
          room: 'sum',
          identity: await generateIdentity(crypto),
          transport: 'relay',
        })
        cleanups.push(() => r.stop())
        return r
      }),
    )
    const a = A!.party
    const b = B!.party
    await Promise.all([a.waitForPeers([b.id]), b.waitForPeers([a.id])])

    const inputs = [314_159_265_358_979_323_846n, 271_828_182_845_904_523_536n] as const
    const shares = [utf8('share of A: 16 B'), utf8('share of B: 16 B')] as const
    const { totals, sessions } = await secureSum(a, b, inputs, shares)
    expect(totals).toEqual([inputs[0] + inputs[1], inputs[0] + inputs[1]])
    const note = utf8('a plaintext body that must never be seen on the wire')
    const heard = sessions[1].receive(a.id, 3)
    await sessions[0].send(b.id, 3, note)
    expect(await heard).toEqual(note)

    for (const p of [a, b]) {
      const c = p.counters().byTransport
      expect(c.relay?.messagesSent).toBeGreaterThan(0)
      expect(c.relay?.messagesReceived).toBeGreaterThan(0)
      expect(c.webrtc).toBeUndefined()
      expect(peerTransport(p)).toBe('relay')
    }
    await A!.stop()
    await B!.stop()

    // ── what the wire showed ──
    const messages = tap.connections.flatMap((c) => [
      ...wsMessages(c.up).map((m) => ({ ...m, conn: c, dir: 'up' })),
      ...wsMessages(c.down).map((m) => ({ ...m, conn: c, dir: 'down' })),
    ])
    const binary = messages.filter((m) => m.opcode === 2)
    expect(binary.length).toBeGreaterThan(10) // relay payloads, both as sent and as forwarded

    // no plaintext anywhere: not in the socket.io events, not in the relayed bytes, not in the raw stream
    const shareValue = (i: 0 | 1) => decode128(shares[i])
    const plaintexts: [string, Uint8Array][] = [
      ['input of A', encode128(inputs[0])],
      ['input of B', encode128(inputs[1])],
      ['share A sent', shares[0]],
      ['share B sent', shares[1]],
      ['partial of A', encode128(inputs[0] - shareValue(0) + shareValue(1))],
      ['partial of B', encode128(inputs[1] - shareValue(1) + shareValue(0))],
      ['total', encode128(inputs[0] + inputs[1])],
      ['note', note],
      ['protocol name', utf8(SECURE_SUM)],
      ['message kind "share"', utf8('share')],
      ['message kind "partial"', utf8('partial')],
    ]
    const haystacks = [
      ...messages.map((m) => m.payload),
      ...tap.connections.flatMap((c) => [Buffer.concat(c.up), Buffer.concat(c.down)]),
    ]
    const leaks = plaintexts.filter(([, bytes]) => haystacks.some((h) => h.includes(Buffer.from(bytes))))
    expect(leaks.map(([what]) => what)).toEqual([])

    // every relayed payload is relay framing; per link and direction at most the two handshake
    // frames (hello, auth) and then only data frames, whose AEAD a key other than the link's can't open
    const streams = new Map<string, number[]>()
    let dataFrames = 0
    const wrongKey = crypto.randomBytes(32)
    for (const m of binary) {
      const r = decodeRelayMessage(new Uint8Array(m.payload))
      if (r.kind !== RelayKind.frame) continue
      const f = r.frame
      const key = `${tap.connections.indexOf(m.conn)}:${m.dir}:${r.generation}`
      streams.set(key, [...(streams.get(key) ?? []), f[0]!])
      if (f[0] !== FrameType.data) continue
      dataFrames++
      const counter = new DataView(f.buffer, f.byteOffset + 1, 8).getBigUint64(0)
      expect(() => crypto.aead.open(wrongKey, frameNonce(counter), f.subarray(0, 9), f.subarray(9))).toThrow()
    }
    expect(dataFrames).toBeGreaterThan(4)
    for (const types of streams.values()) {
      expect(types.every((t) => t === FrameType.handshake || t === FrameType.data)).toBe(true)
      expect(types.filter((t) => t === FrameType.handshake).length).toBeLessThanOrEqual(2)
      const firstData = types.indexOf(FrameType.data)
      if (firstData >= 0) expect(types.slice(firstData).every((t) => t === FrameType.data)).toBe(true)
    }
  }, 60_000)
})

// ── the hybrid transport ────────────────────────────────────────────────────────────────

describe('hybrid transport', () => {
  const wrtc = loadWrtc()

  it('with WebRTC working, parties end on webrtc and never touch the relay', async () => {
    const { url } = await startServer()
    const t = trackedSimplePeer()
    const options = {
      webrtc: { SimplePeer: t.SimplePeer, candidateFilter: loopbackOnly },
      hybrid: { fallbackAfterMs: 10_000 },
    }
    const a = await hybridParty(url, 'direct', options)
    const b = await hybridParty(url, 'direct', options)
    expect(a.transport.kind).toBe('webrtc')
    await Promise.all([a.party.waitForPeers([b.id.id]), b.party.waitForPeers([a.id.id])])
    const { totals } = await secureSum(a.party, b.party, [5n, 7n])
    expect(totals).toEqual([12n, 12n])
    for (const p of [a.party, b.party]) {
      expect(peerTransport(p)).toBe('webrtc')
      expect(p.counters().byTransport.webrtc?.messagesSent).toBeGreaterThan(0)
      expect(p.counters().byTransport.relay).toBeUndefined()
    }
    await stopQuietly(a.party, b.party)
    expect(t.peers.length).toBeGreaterThan(0)
    expectAllClosed(t)
  }, 60_000)

  it('with WebRTC impossible, two parties still complete secure-sum through the relay', async () => {
    const { url } = await startServer()
    const t = trackedSimplePeer(() => false) // no direct path exists
    const options = {
      webrtc: {
        SimplePeer: t.SimplePeer,
        candidateFilter: loopbackOnly,
        connectTimeoutMs: 1500,
        backoff: { initialMs: 100, maxMs: 500 },
        maxAttempts: 3,
      },
      hybrid: { fallbackAfterMs: 500 },
    }
    const a = await hybridParty(url, 'no-direct', options)
    const b = await hybridParty(url, 'no-direct', options)
    await Promise.all([
      a.party.waitForPeers([b.id.id], { timeoutMs: 20_000 }),
      b.party.waitForPeers([a.id.id], { timeoutMs: 20_000 }),
    ])
    const { totals } = await secureSum(a.party, b.party, [-40n, 2n])
    expect(totals).toEqual([-38n, -38n])
    for (const p of [a.party, b.party]) {
      expect(peerTransport(p)).toBe('relay')
      expect(p.counters().byTransport.relay?.messagesSent).toBeGreaterThan(0)
      expect(p.counters().byTransport.webrtc?.messagesSent ?? 0).toBe(0)
    }
    await stopQuietly(a.party, b.party)
    expect(t.peers.length).toBeGreaterThan(0) // webrtc was tried
    expectAllClosed(t)
  }, 60_000)

  it('with WebRTC coming up later, traffic moves from the relay to webrtc', async () => {
    const { url } = await startServer()
    let direct = false // the "network" lets ICE candidates through only once this is set
    const t = trackedSimplePeer(() => direct)
    const options = {
      webrtc: {
        SimplePeer: t.SimplePeer,
        candidateFilter: loopbackOnly,
        connectTimeoutMs: 1500,
        backoff: { initialMs: 100, maxMs: 400 },
        maxAttempts: 1000,
      },
      hybrid: { fallbackAfterMs: 300 },
    }
    const a = await hybridParty(url, 'later', options)
    const b = await hybridParty(url, 'later', options)
    await Promise.all([
      a.party.waitForPeers([b.id.id], { timeoutMs: 20_000 }),
      b.party.waitForPeers([a.id.id], { timeoutMs: 20_000 }),
    ])
    expect([peerTransport(a.party), peerTransport(b.party)]).toEqual(['relay', 'relay'])
    expect((await secureSum(a.party, b.party, [1n, 2n])).totals).toEqual([3n, 3n])

    direct = true
    await until(
      () => peerTransport(a.party) === 'webrtc' && peerTransport(b.party) === 'webrtc',
      30_000,
      'both parties on webrtc',
    )
    const relayBefore = [a.party, b.party].map((p) => p.counters().byTransport.relay?.messagesSent)
    expect((await secureSum(a.party, b.party, [10n, 20n])).totals).toEqual([30n, 30n])
    for (const [i, p] of [a.party, b.party].entries()) {
      const c = p.counters().byTransport
      expect(c.relay?.messagesSent).toBeGreaterThan(0)
      expect(c.webrtc?.messagesSent).toBeGreaterThan(0)
      expect(c.relay?.messagesSent).toBe(relayBefore[i]) // the second run went direct only
      expect(peerTransport(p)).toBe('webrtc')
    }
    // the relay link was retired once webrtc was ready
    for (const e of [a.events, b.events]) {
      expect(e.some((x) => x.type === 'peer' && x.state === 'ready' && x.transport === 'relay')).toBe(true)
      expect(e.some((x) => x.type === 'peer' && x.state === 'lost' && x.transport === 'relay')).toBe(true)
    }
    await stopQuietly(a.party, b.party)
    expectAllClosed(t)
  }, 90_000)

  it('blockRelay(peer) closes the relay link and refuses relay fallback from then on', async () => {
    const { url } = await startServer()
    // a hybrid transport without its webrtc path is no joinRoom setting: made by hand
    const relayOnly = async () => {
      const { id, signaling } = await client(url)
      const transport = createHybridTransport({ signaling, room: 'block', webrtc: false })
      cleanups.push(() => transport.stop())
      const { party } = partyOver(id, transport)
      await party.start()
      return { id, transport, party }
    }
    const a = await relayOnly()
    const b = await relayOnly()
    expect(a.transport.kind).toBe('relay')
    await Promise.all([a.party.waitForPeers([b.id.id]), b.party.waitForPeers([a.id.id])])
    a.transport.blockRelay(b.id.id)
    expect(a.transport.isRelayBlocked(b.id.id)).toBe(true)
    await until(() => a.party.peers().length === 0 && b.party.peers().length === 0, 10_000, 'links to go')
    const handshakes = a.party.counters().handshakes
    // b keeps asking (its relay wants the link), a keeps refusing
    await b.party.connect(a.id.id)
    await sleep(1500)
    expect(a.party.peers()).toEqual([])
    expect(b.party.peers()).toEqual([])
    expect(a.party.counters().handshakes).toBe(handshakes)
  }, 30_000)

  it('a fingerprint mismatch on webrtc (hostile signaling) blocks relay fallback to that peer', async () => {
    const { url } = await startServer()
    const [ia, ib] = (await Promise.all([generateIdentity(crypto), generateIdentity(crypto)])).sort((x, y) =>
      x.id < y.id ? -1 : 1,
    ) as [Identity, Identity] // a < b: a offers
    const A = await client(url, ia)
    const B = await client(url, ib)
    // The signaling path is hostile: every webrtc signal is routed through a man in the middle
    // that holds one connection facing each party and pipes the data channels together.
    const hubA = interceptSignals(A.signaling)
    const hubB = interceptSignals(B.signaling)
    const webrtc = {
      SimplePeer: loadSimplePeer(),
      wrtc,
      candidateFilter: loopbackOnly,
      connectTimeoutMs: 2000,
      maxAttempts: 2,
    }
    const party = async (id: Identity, hub: ReturnType<typeof interceptSignals>) => {
      const transport = createHybridTransport({
        signaling: hub.signaling,
        room: 'mitm',
        webrtc,
        autoConnect: false,
        fallbackAfterMs: 4000,
      })
      const p = partyOver(id, transport)
      await p.party.start()
      return { ...p, transport }
    }
    const a = await party(ia, hubA)
    const b = await party(ib, hubB)
    // how a party wires the alarm to the transport (b relies on the transport's own detection)
    a.party.on('alarm', (ev) => a.transport.blockRelay(ev.peer))

    const Real = loadSimplePeer()
    const mk = (initiator: boolean): SimplePeerInstance =>
      new Real({
        initiator,
        trickle: true,
        channelConfig: { ordered: true },
        config: { iceServers: [] },
        wrtc,
      })
    const towardA = mk(false)
    const towardB = mk(true)
    cleanups.push(() => {
      for (const sp of [towardA, towardB]) {
        const pc = sp._pc
        sp.destroy()
        pc?.close()
      }
    })
    const pipe = (from: SimplePeerInstance, to: SimplePeerInstance): void => {
      const queue: Uint8Array[] = []
      from.on('data', (d) => {
        if (to.connected) to.send(d)
        else queue.push(d)
      })
      to.on('connect', () => {
        for (const d of queue.splice(0)) to.send(d)
      })
    }
    pipe(towardA, towardB)
    pipe(towardB, towardA)
    const linkId = `${ia.id.slice(0, 16)}:${ib.id.slice(0, 16)}`
    const loopOk = (sp: SimplePeerSignal): boolean => !sp.candidate || loopbackOnly(sp.candidate.candidate)
    const spOf = (d: SignalData) => (d.payload as { sp?: SimplePeerSignal } | undefined)?.sp
    let attemptA: number | undefined
    const attemptB = Date.now()
    hubA.onSend = (_to, data) => {
      const sp = spOf(data)
      if (!sp) return
      if (attemptA === undefined && data.kind === 'offer') attemptA = data.attempt
      if (data.attempt === attemptA && loopOk(sp)) towardA.signal(sp)
    }
    hubB.onSend = (_to, data) => {
      const sp = spOf(data)
      if (sp && data.attempt === attemptB && loopOk(sp)) towardB.signal(sp)
    }
    towardA.on('signal', (sp) => {
      if (attemptA === undefined || !loopOk(sp)) return
      const kind = sp.type === 'answer' ? 'answer' : 'candidate'
      hubA.deliver({
        room: 'mitm',
        from: ib.id,
        data: { linkId, attempt: attemptA, kind, payload: { instance: 'mitm', sp } },
      })
    })
    towardB.on('signal', (sp) => {
      if (!loopOk(sp)) return
      const kind = sp.type === 'offer' ? 'offer' : 'candidate'
      hubB.deliver({
        room: 'mitm',
        from: ia.id,
        data: { linkId, attempt: attemptB, kind, payload: { instance: 'mitm', sp } },
      })
    })

    await a.party.connect(ib.id)
    const alarmed = (events: PartyEvent[]) =>
      events.some((e) => e.type === 'alarm' && e.code === 'FINGERPRINT_MISMATCH')
    await until(() => alarmed(a.events) && alarmed(b.events), 20_000, 'fingerprint alarms')
    expect(a.transport.isRelayBlocked(ib.id)).toBe(true)
    expect(b.transport.isRelayBlocked(ia.id)).toBe(true)
    // past the fallback delay and webrtc's retries: no relay link was ever opened
    await sleep(5500)
    for (const [p, hub] of [
      [a, hubA],
      [b, hubB],
    ] as const) {
      expect(p.party.peers()).toEqual([])
      expect(p.party.counters().byTransport.relay).toBeUndefined()
      expect(p.events.some((e) => e.type === 'peer' && e.transport === 'relay')).toBe(false)
      expect(hub.relayed).toBe(0)
    }
  }, 60_000)
})

/**
 * A signaling client whose `signal` traffic is taken over (the hostile part of the server):
 * outgoing signals go to `onSend`, incoming ones come from `deliver`. Relay payloads pass, and
 * are counted.
 */
function interceptSignals(c: SignalingClient) {
  const handlers = new Set<(ev: SignalEvent) => void>()
  const hub = {
    relayed: 0,
    onSend: (_to: PartyId, _data: SignalData): void => undefined,
    deliver(ev: SignalEvent): void {
      setTimeout(() => {
        for (const h of handlers) h(ev)
      }, 1)
    },
    signaling: undefined as unknown as HybridTransportOptions['signaling'],
  }
  const on = (name: string, fn: (v: never) => void): (() => void) => {
    if (name !== 'signal') return c.on(name as 'relay', fn as (v: unknown) => void)
    const h = fn as (ev: SignalEvent) => void
    handlers.add(h)
    return () => handlers.delete(h)
  }
  hub.signaling = {
    get partyId() {
      return c.partyId
    },
    get limits() {
      return c.limits
    },
    ready: (o) => c.ready(o),
    join: (room, o) => c.join(room, o),
    relay: (room, to, frame) => {
      hub.relayed++
      return c.relay(room, to, frame)
    },
    signal: async (_room, to, data) => hub.onSend(to as PartyId, data),
    on: on as SignalingClient['on'],
  }
  return hub
}
