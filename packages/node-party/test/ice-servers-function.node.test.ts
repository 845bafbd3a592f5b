/**
 * `iceServers` as a function (issue #20), on real wrtc over loopback candidates and a real
 * signaling server: it is asked for every new connection attempt, on the end that offers and on
 * the end that answers (whose offer and candidates wait for it), so a link made again gets a
 * fresh list; a function that fails is a failed attempt (`ICE_SERVERS_UNAVAILABLE`, backoff,
 * giving up); and the one option is honoured by the webrtc transport, the hybrid transport, and
 * `joinRoom` with either. The TURN part (credentials that expire) is turn-refresh.node.test.ts.
 */
import { createRequire } from 'node:module'
import {
  generateIdentity,
  type IceServersFunction,
  type IceServersOption,
  type PartyId,
} from '@conclave/core'
import { createNodeCrypto, joinRoom, type NodeJoinRoomOptions } from '@conclave/core/node'
import {
  createHybridTransport,
  createWebRtcTransport,
  type Link,
  type LinkStateEvent,
  loopbackOnly,
  type SimplePeerConstructor,
  type Transport,
  type WebRtcTransportOptions,
} from '@conclave/core/transport'
import { runTransportTests } from '@conclave/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { signalingRoom, transportPair } from './signaling-room.ts'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc')
const SimplePeer = require('simple-peer') as SimplePeerConstructor

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** An async `iceServers` function that answers after `delayMs` (no server: loopback links). */
function recording(delayMs: number | (() => number) = 0) {
  const asked: PartyId[] = []
  const fn: IceServersFunction = async (peer) => {
    asked.push(peer)
    await sleep(typeof delayMs === 'number' ? delayMs : delayMs())
    return []
  }
  return { fn, asked }
}

const rtc = (iceServers: IceServersOption) => ({
  SimplePeer,
  wrtc,
  iceServers,
  candidateFilter: loopbackOnly,
})

// every attempt waits a random moment for its servers, so signals of the far end arrive while
// the RTCPeerConnection is not made yet and must wait for it
runTransportTests('webrtc (iceServers: an async function per attempt)', () =>
  transportPair((signaling, room) =>
    createWebRtcTransport({
      signaling,
      room,
      autoConnect: false,
      ...rtc(recording(() => Math.random() * 40).fn),
    }),
  ),
)

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

/** Two webrtc transports in a fresh room (autoConnect off), `a` the offerer (smaller id). */
async function pair(options: (end: 'a' | 'b') => Partial<WebRtcTransportOptions>) {
  const w = await signalingRoom()
  cleanups.push(w.cleanup)
  const members = [await w.member(), await w.member()].sort((x, y) => (x.id < y.id ? -1 : 1))
  const ends = (['a', 'b'] as const).map((end, i) => {
    const m = members[i]!
    const transport = createWebRtcTransport({
      signaling: m.signaling,
      room: w.room,
      autoConnect: false,
      ...rtc([]),
      ...options(end),
    })
    w.stops.unshift(() => transport.stop())
    const links: Link[] = []
    const states: string[] = []
    transport.onLink((l) => links.push(l))
    transport.onState?.((ev: LinkStateEvent) => states.push(`${ev.state}${ev.code ? `:${ev.code}` : ''}`))
    return { id: m.id, transport, links, states }
  })
  const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]]
  await a.transport.start(a.id)
  await b.transport.start(b.id)
  return { a, b }
}

async function until(what: string, ok: () => boolean, ms: number, detail = () => ''): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms ${detail()}`)
    await sleep(20)
  }
}

describe('webrtc transport: iceServers as a function', () => {
  it('is asked on both ends, with the peer, for every attempt: a link made again gets a new list', async () => {
    const ask = { a: recording(), b: recording(80) } // the answering end is the slow one
    const { a, b } = await pair((end) => ({ iceServers: ask[end].fn }))
    await a.transport.connect(b.id)
    await until('first link', () => a.links.length === 1 && b.links.length === 1, 10_000)
    expect(ask.a.asked).toEqual([b.id])
    expect(ask.b.asked).toEqual([a.id])
    // the link is lost: both ends make it again, each asking for its servers again
    a.links[0]!.close('LINK_LOST', 'dropped by the test')
    await until(
      'second link',
      () => a.links.length === 2 && b.links.length === 2,
      10_000,
      () => JSON.stringify({ a: a.states, b: b.states }),
    )
    expect(ask.a.asked).toEqual([b.id, b.id])
    expect(ask.b.asked).toEqual([a.id, a.id])
    // the new link carries frames
    const got = new Promise<Uint8Array>((resolve) => b.links[1]!.onMessage(resolve))
    a.links[1]!.send(Uint8Array.of(1, 2, 3))
    expect(await got).toEqual(Uint8Array.of(1, 2, 3))
  }, 30_000)

  it.each(['a', 'b'] as const)(
    'a function that fails (on end %s) fails the attempt with ICE_SERVERS_UNAVAILABLE, which is retried',
    async (failing) => {
      let calls = 0
      const flaky: IceServersFunction = async () => {
        calls++
        if (calls <= 2) throw new Error('credential backend down')
        return []
      }
      const { a, b } = await pair((end) => ({
        iceServers: end === failing ? flaky : [],
        connectTimeoutMs: 1500,
        backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
      }))
      await a.transport.connect(b.id)
      await until('a link after two failed asks', () => a.links.length === 1 && b.links.length === 1, 15_000)
      expect(calls).toBe(3)
      const states = failing === 'a' ? a.states : b.states
      expect(states.filter((s) => s === 'backoff:ICE_SERVERS_UNAVAILABLE')).toHaveLength(2)
    },
    30_000,
  )

  it('a function that does not answer in time fails the attempt; its late answer makes nothing', async () => {
    // end a's SimplePeer, counting the RTCPeerConnections it makes
    let made = 0
    const Counting = new Proxy(SimplePeer, {
      construct(target, args) {
        made++
        return Reflect.construct(target, args)
      },
    })
    let calls = 0
    const slowFirst: IceServersFunction = async () => {
      // the first answer comes after the attempt's time; the next ones at once
      if (++calls === 1) await sleep(800)
      return []
    }
    const { a, b } = await pair((end) => ({
      ...(end === 'a' ? { iceServers: slowFirst, SimplePeer: Counting } : {}),
      connectTimeoutMs: 300,
      backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
    }))
    await a.transport.connect(b.id)
    await until(
      'a link',
      () => a.links.length === 1 && b.links.length === 1,
      10_000,
      () => a.states.join(' '),
    )
    await sleep(1000) // past the first, late answer
    expect(a.states).toContain('backoff:ICE_SERVERS_UNAVAILABLE')
    expect(calls).toBe(2)
    expect(made).toBe(1)
    expect(a.links[0]!.closed).toBe(false)
  }, 20_000)

  it('failed asks count as failed attempts: backed off, then given up after maxAttempts', async () => {
    let calls = 0
    // a list without the TURN server's credentials: refused as the attempt's list
    const bad: IceServersFunction = () => {
      calls++
      return [{ urls: 'turn:127.0.0.1:9' }]
    }
    const { a, b } = await pair((end) => ({
      iceServers: end === 'a' ? bad : [],
      maxAttempts: 2,
      backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
    }))
    await a.transport.connect(b.id)
    await until(
      'given up',
      () => a.states.some((s) => s.startsWith('closed')),
      5000,
      () => a.states.join(' '),
    )
    expect(calls).toBe(3)
    expect(a.states.filter((s) => s === 'backoff:ICE_SERVERS_UNAVAILABLE')).toHaveLength(2)
    expect(a.states.at(-1)).toBe('closed:ICE_SERVERS_UNAVAILABLE')
    expect(a.links).toEqual([])
  }, 20_000)

  it('refuses a bad list, or neither a list nor a function, when the transport is made', async () => {
    const w = await signalingRoom()
    cleanups.push(w.cleanup)
    const m = await w.member()
    for (const iceServers of [[{ urls: 'turn:127.0.0.1:9' }], [{ urls: 'http://127.0.0.1' }], 'stun:x', {}]) {
      expect(() =>
        createWebRtcTransport({
          signaling: m.signaling,
          room: w.room,
          ...rtc(iceServers as RTCIceServer[]),
        }),
      ).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
  })
})

describe('hybrid transport: the same option on its webrtc path', () => {
  /** Two hybrid transports in a fresh room (autoConnect off), `a` the offerer. */
  async function hybridPair(iceServers: (end: 'a' | 'b') => IceServersOption) {
    const w = await signalingRoom()
    cleanups.push(w.cleanup)
    const members = [await w.member(), await w.member()].sort((x, y) => (x.id < y.id ? -1 : 1))
    const ends = (['a', 'b'] as const).map((end, i) => {
      const m = members[i]!
      // no fallback by time: only a failed webrtc attempt can open the relay in these tests
      const transport = createHybridTransport({
        signaling: m.signaling,
        room: w.room,
        autoConnect: false,
        fallbackAfterMs: 60_000,
        webrtc: { ...rtc(iceServers(end)), backoff: { initialMs: 20, maxMs: 40, jitter: 0 } },
      })
      w.stops.unshift(() => transport.stop())
      const links: Link[] = []
      transport.onLink((l) => links.push(l))
      return { id: m.id, transport: transport as Transport, links }
    })
    const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]]
    await a.transport.start(a.id)
    await b.transport.start(b.id)
    return { a, b }
  }

  it('links over webrtc, the function asked on both ends', async () => {
    const ask = { a: recording(), b: recording(30) }
    const { a, b } = await hybridPair((end) => ask[end].fn)
    await a.transport.connect(b.id)
    await until('a webrtc link', () => a.links.length > 0 && b.links.length > 0, 10_000)
    expect(a.links.map((l) => l.kind)).toEqual(['webrtc'])
    expect(ask.a.asked).toEqual([b.id])
    expect(ask.b.asked).toEqual([a.id])
  }, 20_000)

  it('falls back to the relay at once when the function fails (a failed attempt), not after fallbackAfterMs', async () => {
    let calls = 0
    const { a, b } = await hybridPair((end) =>
      end === 'a'
        ? () => {
            calls++
            throw new Error('credential backend down')
          }
        : [],
    )
    const started = Date.now()
    await a.transport.connect(b.id)
    await until('a relay link', () => a.links.length > 0 && b.links.length > 0, 10_000)
    expect(a.links.map((l) => l.kind)).toEqual(['relay'])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(calls).toBeGreaterThanOrEqual(1)
  }, 20_000)
})

describe('joinRoom: the same option through the front door', () => {
  const crypto = createNodeCrypto()

  // the function stays on this thread with the transport, whichever host runs the sessions
  it.each([
    ['webrtc', 'worker'],
    ['hybrid', 'in-thread'],
    ['relay', 'in-thread'],
  ] as const)(
    'transport %s, host %s: the function is asked for each webrtc link, by each end',
    async (transport, host) => {
      const w = await signalingRoom()
      cleanups.push(w.cleanup)
      const ask = recording(20)
      const options = async (): Promise<NodeJoinRoomOptions> => ({
        signaling: w.url,
        room: w.room,
        identity: await generateIdentity(crypto),
        transport,
        host,
        iceServers: ask.fn,
        webrtc: { candidateFilter: loopbackOnly },
        ...(transport === 'hybrid' ? { hybrid: { fallbackAfterMs: 60_000 } } : {}),
      })
      const rooms = [await joinRoom(await options()), await joinRoom(await options())]
      for (const r of rooms) cleanups.push(() => r.stop())
      const ids = rooms.map((r) => r.party.id)
      await Promise.all(rooms.map((r) => r.party.waitForPeers(ids, { timeoutMs: 15_000 })))
      const kind = transport === 'relay' ? 'relay' : 'webrtc'
      expect(rooms[0]!.party.peers().map((p) => p.transport)).toEqual([kind])
      // each end asks with the other's id; the relay has no ICE and asks nothing
      expect(new Set(ask.asked)).toEqual(new Set(transport === 'relay' ? [] : ids))
    },
    30_000,
  )

  it.each<[string, unknown]>([
    ['a TURN server without credentials', [{ urls: 'turn:127.0.0.1:3478' }]],
    ['a URL that is not stun:, turn: or turns:', [{ urls: 'https://127.0.0.1' }]],
    ['neither a list nor a function', 42],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, iceServers) => {
    const o = {
      signaling: 'http://127.0.0.1:9',
      room: 'r',
      identity: await generateIdentity(crypto),
      iceServers,
    } as NodeJoinRoomOptions
    await expect(joinRoom(o)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
