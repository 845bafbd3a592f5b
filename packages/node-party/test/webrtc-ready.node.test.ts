/**
 * When the webrtc transport counts a link as good (DESIGN "Connections"): once the party's
 * handshake on it completed (`Link.markReady`), not when its data channel opened. Two
 * transports over a real signaling server and wrtc (loopback), no party: the test plays the
 * party's part.
 */
import { createRequire } from 'node:module'
import { generateIdentity } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createSignalingClient } from '@conclave/core/signaling'
import {
  createWebRtcTransport,
  type Link,
  type LinkStateEvent,
  loopbackOnly,
  type SimplePeerConstructor,
  type Transport,
} from '@conclave/core/transport'
import { createSignalingServer } from '@conclave/signaling-server'
import { afterEach, describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc')
const SimplePeer = require('simple-peer') as SimplePeerConstructor

const stops: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

/** Two started transports in one room, in id order (the first offers), with maxAttempts 1. */
async function pair() {
  const crypto = createNobleBackend()
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  stops.push(() => server.stop())
  const make = async () => {
    const id = await generateIdentity(crypto)
    const signaling = createSignalingClient({
      url,
      publicKey: id.key.publicKey,
      sign: (b) => crypto.ed25519.sign(id.key, b),
    })
    void signaling.start().catch(() => undefined)
    const transport = createWebRtcTransport({
      signaling,
      room: 'ready',
      SimplePeer,
      wrtc,
      candidateFilter: loopbackOnly,
      autoConnect: false,
      maxAttempts: 1,
      backoff: { initialMs: 50, maxMs: 50, jitter: 0 },
    })
    stops.unshift(
      () => transport.stop(),
      () => signaling.stop(),
    )
    return { id: id.id, transport }
  }
  const [a, b] = [await make(), await make()].sort((x, y) => (x.id < y.id ? -1 : 1))
  await a!.transport.start(a!.id)
  await b!.transport.start(b!.id)
  return { a: a!, b: b! }
}

/** Each link `t` announces, in order, and its states. */
function watch(t: Transport) {
  const links: Link[] = []
  const states: LinkStateEvent[] = []
  t.onLink((l) => links.push(l))
  t.onState?.((ev) => states.push(ev))
  return { links, states }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const gaveUp = (states: LinkStateEvent[]) =>
  states.some((s) => s.state === 'closed' && /gave up/.test(s.reason ?? ''))

describe('webrtc transport: a link counts as good once its handshake is done', () => {
  it('links that opened but were never marked ready are failed attempts: maxAttempts 1 gives up at the second', async () => {
    const { a, b } = await pair()
    const seen = watch(a.transport)
    await a.transport.connect(b.id)
    for (let round = 1; round <= 2; round++) {
      await until(() => seen.links.length >= round, 10_000, `link ${round}`)
      seen.links[round - 1]!.close('LINK_LOST', 'handshake failed (played by the test)')
    }
    await until(() => gaveUp(seen.states), 10_000, 'a gives up')
  }, 30_000)

  it('a link marked ready restarts the count: three lost links in a row, and maxAttempts 1 never gives up', async () => {
    const { a, b } = await pair()
    const seen = watch(a.transport)
    await a.transport.connect(b.id)
    for (let round = 1; round <= 3; round++) {
      await until(() => seen.links.length >= round, 10_000, `link ${round}`)
      const link = seen.links[round - 1]!
      link.markReady?.()
      link.close('LINK_LOST', 'lost after its handshake (played by the test)')
    }
    await until(() => seen.links.length >= 4, 10_000, 'a fourth link')
    expect(gaveUp(seen.states)).toBe(false)
  }, 30_000)
})
