/**
 * The hybrid transport on its own: it passes the transport compliance suite (with its webrtc
 * path, and relay only), and its relay path retries the roster's peers forever, like its webrtc
 * path (it used to give them up after `maxAttempts`: only the webrtc path got the roster).
 */
import { createRequire } from 'node:module'
import {
  createHybridTransport,
  type HybridTransportOptions,
  type LinkStateEvent,
  loopbackOnly,
  type SimplePeerConstructor,
} from '@conclave/core/transport'
import { decodeRelayMessage, RelayKind } from '@conclave/core/wire'
import { runTransportTests } from '@conclave/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { signalingRoom, transportPair } from './signaling-room.ts'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc')
const SimplePeer = require('simple-peer') as SimplePeerConstructor

/** A compliance pair of hybrid transports with `options`. */
const hybridPair = (options: Omit<HybridTransportOptions, 'signaling' | 'room'>) =>
  transportPair((signaling, room) => createHybridTransport({ signaling, room, ...options }))

const rtc = { SimplePeer, wrtc, iceServers: [], candidateFilter: loopbackOnly }

// the relay is a fallback only: with a slow webrtc attempt it would add a second link
runTransportTests('hybrid (webrtc path, wrtc loopback)', () =>
  hybridPair({ webrtc: rtc, autoConnect: false, fallbackAfterMs: 60_000 }),
)

runTransportTests('hybrid (relay only)', () => hybridPair({ webrtc: false, autoConnect: false }))

describe('hybrid transport: the roster on both paths', () => {
  let cleanup: (() => Promise<void>) | undefined
  afterEach(async () => {
    await cleanup?.()
    cleanup = undefined
  })

  it("keeps retrying a roster peer on its relay path past the relay's maxAttempts", async () => {
    const w = await signalingRoom()
    cleanup = w.cleanup
    const a = await w.member()
    // b is in the room but runs no transport: nothing ever answers a's webrtc or relay attempts
    const b = await w.member()
    const opens: number[] = []
    b.signaling.on('relay', (ev) => {
      if (ev.from !== a.id) return
      try {
        if (decodeRelayMessage(ev.frame).kind === RelayKind.open) opens.push(Date.now())
      } catch {
        // not relay framing
      }
    })
    await b.signaling.join(w.room)
    const transport = createHybridTransport({
      signaling: a.signaling,
      room: w.room,
      autoConnect: false,
      // the roster is given to the webrtc path, as node-party does; the webrtc attempt outlives
      // the test, so only the relay path retries
      webrtc: { ...rtc, connectTimeoutMs: 60_000, persistentPeers: new Set([b.id]) },
      relay: { maxAttempts: 1, openTimeoutMs: 150, backoff: { initialMs: 50, maxMs: 100 } },
      fallbackAfterMs: 100,
    })
    w.stops.unshift(() => transport.stop())
    const relayStates: LinkStateEvent[] = []
    transport.relay.onState?.((ev) => relayStates.push(ev))
    await transport.start(a.id)
    await transport.connect(b.id)
    const deadline = Date.now() + 8000
    while (opens.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    // maxAttempts 1 would stop at 2 opens (the first attempt and one retry)
    expect(opens.length).toBeGreaterThanOrEqual(6)
    expect(relayStates.filter((s) => s.state === 'closed')).toEqual([])
    expect(relayStates.filter((s) => s.state === 'backoff').length).toBeGreaterThanOrEqual(5)
  }, 20_000)

  it("a peer in the hybrid's own persistentPeers is retried on the relay path too", async () => {
    const w = await signalingRoom()
    cleanup = w.cleanup
    const a = await w.member()
    const b = await w.member()
    let opens = 0
    b.signaling.on('relay', (ev) => {
      if (ev.from === a.id && decodeRelayMessage(ev.frame).kind === RelayKind.open) opens++
    })
    await b.signaling.join(w.room)
    const transport = createHybridTransport({
      signaling: a.signaling,
      room: w.room,
      autoConnect: false,
      webrtc: false,
      persistentPeers: new Set([b.id]),
      relay: { maxAttempts: 1, openTimeoutMs: 150, backoff: { initialMs: 50, maxMs: 100 } },
    })
    w.stops.unshift(() => transport.stop())
    await transport.start(a.id)
    await transport.connect(b.id)
    const deadline = Date.now() + 8000
    while (opens < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(opens).toBeGreaterThanOrEqual(4)
  }, 20_000)
})
