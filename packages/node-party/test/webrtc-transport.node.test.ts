import { createRequire } from 'node:module'
import {
  createNobleBackend,
  createSignalingClient,
  createWebRtcTransport,
  generateIdentity,
  loopbackOnly,
  type SimplePeerConstructor,
} from '@conclave/core'
import { runTransportTests } from '@conclave/core/testing'
import { createSignalingServer } from '@conclave/signaling-server'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc')
const SimplePeer = require('simple-peer') as SimplePeerConstructor

runTransportTests('webrtc (wrtc, loopback)', async () => {
  const crypto = createNobleBackend()
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  const room = `room-${Math.random().toString(36).slice(2)}`
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
      candidateFilter: loopbackOnly,
      autoConnect: false,
    })
    return { id: id.id, signaling, transport }
  }
  const a = await make()
  const b = await make()
  return {
    a: a.transport,
    b: b.transport,
    idA: a.id,
    idB: b.id,
    cleanup: async () => {
      a.signaling.stop()
      b.signaling.stop()
      await server.stop()
    },
  }
})

describe('webrtc transport: a peer asked for before it joins the room', () => {
  // the offer rule (lower id offers) makes two paths: the early side offers, or asks for an offer
  it.each(['offers', 'asks for an offer'])(
    'is linked once it joins, not at the connect timeout (early side %s)',
    async (path) => {
      const crypto = createNobleBackend()
      const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
      const { url } = await server.start()
      const room = `room-${Math.random().toString(36).slice(2)}`
      const stops: (() => Promise<void> | void)[] = [() => server.stop()]
      try {
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
            // far longer than the test: an attempt that has to wait for it cannot pass
            connectTimeoutMs: 60_000,
          })
          stops.unshift(
            () => transport.stop(),
            () => signaling.stop(),
          )
          return { id: id.id, transport }
        }
        const pair = [await make(), await make()].sort((x, y) => (x.id < y.id ? -1 : 1))
        const [early, late] = path === 'offers' ? [pair[0]!, pair[1]!] : [pair[1]!, pair[0]!]
        const linked = new Promise<void>((resolve) => early.transport.onLink(() => resolve()))
        const states: string[] = []
        early.transport.onState?.((ev) => {
          if (ev.peer === late.id) states.push(`${ev.state}${ev.code ? `:${ev.code}` : ''}`)
        })
        await early.transport.start(early.id)
        await early.transport.connect(late.id)
        await new Promise((r) => setTimeout(r, 300)) // refused meanwhile: not in the room
        await late.transport.start(late.id) // joins; autoConnect is off, so it asks for nothing
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([
          linked,
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no link in 10 s; states: ${states.join(' ')}`)),
              10_000,
            )
          }),
        ]).finally(() => clearTimeout(timer))
        expect(states).toContain('backoff:PEER_UNREACHABLE')
      } finally {
        for (const s of stops) await s()
      }
    },
    30_000,
  )
})
