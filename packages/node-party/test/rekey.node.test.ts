/**
 * Re-keying over real transports (@roamhq/wrtc on loopback, and the relay, through a local
 * signaling server): a link past its frame bound is closed with `REKEY_DUE` and re-made (on
 * webrtc with a new RTCPeerConnection) with a fresh handshake in the middle of a session, losing,
 * repeating and reordering nothing, and the transport dials again at once (no backoff) (DESIGN
 * "Frames", issue #16 item 8).
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import {
  generateIdentity,
  type Limits,
  type Party,
  type PartyEvent,
  type PartyId,
  parseSessionId,
} from '@conclave/core'
import { createParty, toWorkerHostConfig } from '@conclave/core/host'
import { createNodeCrypto, createNodeWorkerSessionHost } from '@conclave/core/node'
import { createSignalingClient } from '@conclave/core/signaling'
import {
  createHybridTransport,
  createRelayTransport,
  createWebRtcTransport,
  loopbackOnly,
  type SimplePeerConstructor,
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

/** A signaling server on a random local port, and a room on it. */
async function room() {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  stops.push(() => server.stop())
  return { url, room: `room-${Math.random().toString(36).slice(2)}` }
}

/**
 * A started party on `kind` in `where`, its host in-thread or in a worker_threads Worker, its
 * events recorded (stopped after the test, first).
 */
async function partyOn(
  kind: 'webrtc' | 'relay' | 'hybrid',
  where: { url: string; room: string },
  limits: Partial<Limits>,
  worker: boolean,
) {
  const crypto = createNodeCrypto()
  const { key } = await generateIdentity(crypto)
  const host = worker
    ? await createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: key, limits }))
    : undefined
  const signaling = createSignalingClient({
    url: where.url,
    publicKey: key.publicKey,
    sign: (b) => crypto.ed25519.sign(key, b),
  })
  void signaling.start().catch(() => undefined)
  const rtc = { SimplePeer, wrtc, iceServers: [], candidateFilter: loopbackOnly }
  const transport =
    kind === 'relay'
      ? createRelayTransport({ signaling, room: where.room, autoConnect: false })
      : kind === 'hybrid'
        ? createHybridTransport({ signaling, room: where.room, webrtc: rtc, autoConnect: false })
        : createWebRtcTransport({ signaling, room: where.room, ...rtc, autoConnect: false })
  const party = createParty({ identity: key, crypto, transport, ...(host ? { host } : { limits }) })
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  await party.start()
  stops.unshift(
    () => party.stop(),
    () => signaling.stop(),
  )
  return { party, events }
}

function body(i: number): Uint8Array {
  const b = new Uint8Array(64)
  new DataView(b.buffer).setUint32(0, i)
  return b
}
const numberOf = (m: Uint8Array): number => new DataView(m.buffer, m.byteOffset).getUint32(0)

describe('re-keying over real transports', () => {
  it.each([
    ['webrtc (wrtc, loopback)', 'in-thread', 'webrtc', false],
    ['webrtc (wrtc, loopback)', 'worker_threads', 'webrtc', true],
    ['relay', 'in-thread', 'relay', false],
    ['hybrid (webrtc path)', 'in-thread', 'hybrid', false],
  ] as const)(
    '%s, %s hosts: a link past rekeyAfterFrames is re-made mid-session: nothing lost, repeated or reordered, no backoff',
    async (_, __, kind, worker) => {
      const where = await room()
      const BOUND = 40
      const a = await partyOn(kind, where, { rekeyAfterFrames: BOUND }, worker)
      const b = await partyOn(kind, where, { rekeyAfterFrames: BOUND }, worker)
      const ids: PartyId[] = [a.party.id, b.party.id]
      const sid = parseSessionId(randomBytes(32).toString('hex'))
      const sa = a.party.session({ id: sid, participants: ids })
      const sb = b.party.session({ id: sid, participants: ids })
      await a.party.waitForPeers([b.party.id], { timeoutMs: 15_000 })
      const N = 150
      // both send N numbered messages, paced so that most go in frames of their own
      const send = async (s: typeof sa, to: PartyId) => {
        for (let i = 0; i < N; i++) {
          await s.send(to, 1, body(i))
          await new Promise((r) => setTimeout(r, 2))
        }
      }
      const receive = async (s: typeof sa, from: PartyId) => {
        const got: number[] = []
        for (let i = 0; i < N; i++) got.push(numberOf(await s.receive(from, 1, { timeoutMs: 30_000 })))
        return got
      }
      const [, , gotB, gotA] = await Promise.all([
        send(sa, b.party.id),
        send(sb, a.party.id),
        receive(sb, a.party.id),
        receive(sa, b.party.id),
      ])
      const all = Array.from({ length: N }, (_, i) => i)
      expect(gotB).toEqual(all)
      expect(gotA).toEqual(all)
      await expect(sb.receive(a.party.id, 1, { timeoutMs: 200 })).rejects.toMatchObject({
        code: 'ROUND_TIMEOUT',
      })
      for (const p of [a, b] as { party: Party; events: PartyEvent[] }[]) {
        const c = p.party.counters()
        // 150 messages and their acks each way are well over 40 frames: re-keyed at least twice
        expect(c.handshakes).toBeGreaterThanOrEqual(3)
        expect(
          p.events.filter((e) => e.type === 'peer' && e.state === 'lost' && e.code === 'REKEY_DUE').length,
        ).toBeGreaterThanOrEqual(2)
        expect(c.drops).toEqual({})
        expect(c.handshakeFailures).toEqual({})
        // not a failure: no backoff, no alarm, no other loss
        const faults = p.events.filter(
          (e) =>
            e.type === 'drop' ||
            e.type === 'alarm' ||
            (e.type === 'peer' && (e.state === 'backoff' || (e.state === 'lost' && e.code !== 'REKEY_DUE'))),
        )
        expect(faults).toEqual([])
        // on webrtc each re-key is a new RTCPeerConnection (its fingerprints checked in its
        // handshake); the hybrid stays on its webrtc path (its relay fallback waits 3 s)
        const path = kind === 'relay' ? 'relay' : 'webrtc'
        expect(Object.keys(c.byTransport)).toEqual([path])
      }
    },
    60_000,
  )
})
