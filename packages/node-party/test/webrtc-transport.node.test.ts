import { createRequire } from 'node:module'
import { generateIdentity } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createSignalingClient } from '@conclave/core/signaling'
import { createWebRtcTransport, loopbackOnly, type SimplePeerConstructor } from '@conclave/core/transport'
import { createSignalingServer } from '@conclave/signaling-server'
import { runTransportTests } from '@conclave/testing'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc')
const SimplePeer = require('simple-peer') as SimplePeerConstructor

/** A signaling server, and parties in one room on it (autoConnect off), all stopped after. */
async function world(options: Partial<Parameters<typeof createWebRtcTransport>[0]>) {
  const crypto = createNobleBackend()
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  const room = `room-${Math.random().toString(36).slice(2)}`
  const stops: (() => Promise<void> | void)[] = [() => server.stop()]
  const make = async () => {
    const id = await generateIdentity(crypto, { extractable: true })
    const signaling = createSignalingClient({
      url,
      publicKey: id.key.publicKey,
      sign: (b) => crypto.ed25519.sign(id.key, b),
    })
    void signaling.start().catch(() => undefined)
    const transport = createWebRtcTransport({
      signaling,
      room,
      SimplePeer,
      wrtc,
      iceServers: [],
      candidateFilter: loopbackOnly,
      autoConnect: false,
      ...options,
    })
    stops.unshift(
      () => transport.stop(),
      () => signaling.stop(),
    )
    return { id: id.id, transport, signaling }
  }
  /** In id order: the first one offers to the second (random otherwise, as the ids are). */
  const pair = [await make(), await make()].sort((x, y) => (x.id < y.id ? -1 : 1))
  const cleanup = async () => {
    for (const s of stops) await s()
  }
  return { pair: pair as [(typeof pair)[0], (typeof pair)[0]], cleanup }
}

runTransportTests('webrtc (wrtc, loopback)', async () => {
  const { pair, cleanup } = await world({})
  // either may be a: the suite then sees both sides of the offer rule across its tests
  const [a, b] = Math.random() < 0.5 ? pair : [pair[1], pair[0]]
  return { a: a.transport, b: b.transport, idA: a.id, idB: b.id, cleanup }
})

describe('webrtc transport: a peer asked for before it joins the room', () => {
  /** Resolves at `early`'s first link; rejects after `ms` with the states it went through. */
  function linkWithin(early: { transport: ReturnType<typeof createWebRtcTransport> }, ms: number) {
    const states: string[] = []
    early.transport.onState?.((ev) => states.push(`${ev.state}${ev.code ? `:${ev.code}` : ''}`))
    let timer: ReturnType<typeof setTimeout> | undefined
    const linked = Promise.race([
      new Promise<void>((resolve) => early.transport.onLink(() => resolve())),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no link in ${ms} ms; states: ${states.join(' ')}`)), ms)
      }),
    ]).finally(() => clearTimeout(timer))
    return { linked, states }
  }

  // the offer rule (lower id offers) makes two paths: the early side offers, or asks for an offer
  it.each(['offers', 'asks for an offer'])(
    'is linked once it joins, not at the connect timeout or a backoff (early side %s)',
    async (path) => {
      // far longer than the test: an attempt that waits for the connect timeout or for a
      // backoff cannot pass; only the peer's presence can start the one that links
      const { pair, cleanup } = await world({
        connectTimeoutMs: 60_000,
        backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 },
      })
      try {
        const [early, late] = path === 'offers' ? [pair[0], pair[1]] : [pair[1], pair[0]]
        const { linked, states } = linkWithin(early, 10_000)
        await early.transport.start(early.id)
        await early.transport.connect(late.id)
        await new Promise((r) => setTimeout(r, 300)) // refused meanwhile: not in the room
        await late.transport.start(late.id) // joins; autoConnect is off, so it asks for nothing
        await linked
        expect(states).toContain('backoff:PEER_UNREACHABLE')
      } finally {
        await cleanup()
      }
    },
    30_000,
  )

  it('waiting for it does not use up maxAttempts, and its retries back off', async () => {
    // refused again and again for a second: with maxAttempts 1, counting would give up at the
    // first; the safety retries double from 20 ms (20, 40, 80, 160, 320 …): about 6 in a second
    const { pair, cleanup } = await world({
      maxAttempts: 1,
      backoff: { initialMs: 20, maxMs: 320, jitter: 0 },
    })
    try {
      const [early, late] = pair
      const { linked, states } = linkWithin(early, 10_000)
      await early.transport.start(early.id)
      await early.transport.connect(late.id)
      await new Promise((r) => setTimeout(r, 1000))
      const refusals = states.filter((s) => s === 'backoff:PEER_UNREACHABLE').length
      expect(refusals).toBeGreaterThanOrEqual(3)
      expect(refusals).toBeLessThanOrEqual(10)
      expect(states.some((s) => s.startsWith('closed'))).toBe(false)
      await late.transport.start(late.id)
      await linked
    } finally {
      await cleanup()
    }
  }, 30_000)
})

describe('webrtc transport: a peer that left the room', () => {
  it('is not dialled again once the link it left open closes (no retries for ever)', async () => {
    const { pair, cleanup } = await world({
      autoConnect: true,
      backoff: { initialMs: 20, maxMs: 50, jitter: 0 },
    })
    try {
      const [a, b] = pair
      const states: string[] = []
      a.transport.onState?.((ev) => states.push(ev.state))
      const linked = new Promise<void>((resolve) => a.transport.onLink(() => resolve()))
      await a.transport.start(a.id)
      await b.transport.start(b.id)
      await linked
      // b leaves the room (its signaling goes) while its link stays up, then the link goes too
      b.signaling.stop()
      await new Promise((r) => setTimeout(r, 500))
      const gone = states.length
      await b.transport.stop()
      // 1.5 s of backoffs of 20-50 ms: a peer still retried is dialled (and refused) many times
      await new Promise((r) => setTimeout(r, 1500))
      expect(states.slice(gone).filter((s) => s === 'signaling' || s === 'backoff')).toEqual([])
      expect(states.slice(gone)).toContain('closed')
    } finally {
      await cleanup()
    }
  }, 30_000)
})
