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
