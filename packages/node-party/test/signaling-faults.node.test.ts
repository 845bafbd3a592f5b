/**
 * Faults of the signaling path, with in-process parties over real WebRTC (wrtc, loopback):
 * the server restarts while links stay up; a malicious server forwards signals to the wrong
 * party, or terminates DTLS itself (a relaying man in the middle, `fixtures/mitm-server.ts`)
 * and swaps the fingerprints or rewrites them inside the hellos.
 */
import {
  generateIdentity,
  type Identity,
  type Party,
  type PartyEvent,
  type PartyId,
  utf8,
} from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createParty } from '@conclave/core/host'
import { createNodeCrypto, setImmediateTurn } from '@conclave/core/node'
import {
  createSignalingClient,
  type PresenceEntry,
  type SignalData,
  type SignalEvent,
} from '@conclave/core/signaling'
import {
  createHybridTransport,
  createWebRtcTransport,
  type DialPolicy,
  type HybridTransport,
  loopbackOnly,
  type Transport,
} from '@conclave/core/transport'
import { runSecureSum } from '@conclave/protocols'
import { createSignalingServer, type SignalingServer } from '@conclave/signaling-server'
import { afterEach, describe, expect, it } from 'vitest'
import { loadSimplePeer, loadWrtc, type NodeParty, startNodeParty } from '../src/node-party.ts'
import { type MitmServer, startMitmServer } from './fixtures/mitm-server.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('signaling server restart', () => {
  it('open links keep carrying messages while the server is down, and parties re-register when it is back', async () => {
    const crypto = createNodeCrypto()
    let server: SignalingServer | undefined = createSignalingServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
    })
    const { url, port } = await server.start()
    cleanups.push(() => server?.stop())
    const nodes: NodeParty[] = []
    for (let i = 0; i < 3; i++) {
      const id = await generateIdentity(crypto)
      const n = await startNodeParty({
        crypto,
        identity: id.key,
        signal: url,
        room: 'restart',
        loopbackOnly: true,
      })
      nodes.push(n)
      cleanups.push(() => n.stop())
    }
    const ids = nodes.map((n) => n.party.id)
    await Promise.all(nodes.map((n) => n.party.waitForPeers(ids, { timeoutMs: 20_000 })))
    const handshakes = nodes.map((n) => n.party.counters().handshakes)

    await server.stop()
    server = undefined
    await until(() => nodes.every((n) => n.signaling.state !== 'registered'), 10_000, 'clients to notice')

    // the protocol runs over the links that were already open
    const joined = nodes.slice(1).map(
      (n) =>
        new Promise<bigint>((resolve, reject) => {
          n.party.on('proposal', (ev) =>
            runSecureSum(n.party.join(ev.proposal.sessionId), 5n).then(resolve, reject),
          )
        }),
    )
    const s0 = await nodes[0]!.party.propose({ protocol: 'secure-sum', participants: ids })
    const totals = await Promise.all([runSecureSum(s0, 5n), ...joined])
    expect(totals).toEqual([15n, 15n, 15n])
    // no new link was needed
    expect(nodes.map((n) => n.party.counters().handshakes)).toEqual(handshakes)
    expect(nodes.every((n) => n.party.peers().length === 2)).toBe(true)

    // the server comes back on the same port: every party registers again by itself
    server = createSignalingServer({ host: '127.0.0.1', port, logLevel: 'error' })
    await server.start()
    await until(() => nodes.every((n) => n.signaling.state === 'registered'), 20_000, 're-registration')
    const stats = await server.registry.stats()
    expect(stats.parties).toBe(3)
  }, 60_000)
})

/**
 * A hostile signaling server, in process: it hands each party a signaling client that it
 * controls, so it can reroute and rewrite every signal.
 */
class HostileHub {
  private readonly handlers = new Map<string, Map<string, Set<(ev: never) => void>>>()
  /** route(from, to, data) → deliveries; default: honest */
  route: (
    from: PartyId,
    to: PartyId,
    data: SignalData,
  ) => { to: PartyId; from: PartyId; data: SignalData }[] = (from, to, data) => [{ to, from, data }]
  readonly members: PartyId[] = []

  client(id: PartyId) {
    const on = (name: string, fn: (ev: never) => void): (() => void) => {
      let m = this.handlers.get(id)
      if (!m) {
        m = new Map()
        this.handlers.set(id, m)
      }
      let set = m.get(name)
      if (!set) {
        set = new Set()
        m.set(name, set)
      }
      set.add(fn)
      return () => set.delete(fn)
    }
    return {
      partyId: id,
      on: on as never,
      ready: async () => undefined,
      join: async (room: string): Promise<PresenceEntry[]> => {
        const peers = this.members.map((p) => ({ partyId: p, lastSeen: Date.now() }))
        this.members.push(id)
        for (const p of peers)
          this.emit(p.partyId as PartyId, 'presence', {
            room,
            event: 'joined',
            party: { partyId: id, lastSeen: Date.now() },
          })
        return peers
      },
      signal: async (room: string, to: string, data: SignalData): Promise<void> => {
        for (const d of this.route(id, to as PartyId, data))
          this.deliver(d.to, { room, from: d.from, data: d.data })
      },
    }
  }

  deliver(to: PartyId, ev: SignalEvent): void {
    setTimeout(() => this.emit(to, 'signal', ev), 1)
  }

  private emit(to: PartyId, name: string, ev: unknown): void {
    for (const fn of this.handlers.get(to)?.get(name) ?? []) (fn as (e: unknown) => void)(ev)
  }
}

async function orderedIdentities(n: number): Promise<Identity[]> {
  const crypto = createNobleBackend()
  const ids = await Promise.all(Array.from({ length: n }, () => generateIdentity(crypto)))
  return ids.sort((a, b) => (a.id < b.id ? -1 : 1))
}

function hostileParty(hub: HostileHub, identity: Identity): { party: Party; events: PartyEvent[] } {
  const crypto = createNobleBackend()
  const transport = createWebRtcTransport({
    signaling: hub.client(identity.id),
    room: 'r',
    SimplePeer: loadSimplePeer(),
    wrtc: loadWrtc(),
    candidateFilter: loopbackOnly,
    autoConnect: false,
    maxAttempts: 1,
    connectTimeoutMs: 8000,
  })
  const party = createParty({ identity: identity.key, crypto, transport })
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  cleanups.push(() => party.stop())
  return { party, events }
}

describe('malicious signaling', () => {
  it('a server that forwards signals to the wrong party makes the handshake fail and raises an alarm; nothing reaches that party', async () => {
    const [ia, ib, ic] = await orderedIdentities(3) // a < b, a < c: a offers to both
    const hub = new HostileHub()
    // a's signals for b go to c (stamped from a, link id rewritten for c); c's answers come back as b's
    const linkOf = (x: PartyId, y: PartyId): string =>
      x < y ? `${x.slice(0, 16)}:${y.slice(0, 16)}` : `${y.slice(0, 16)}:${x.slice(0, 16)}`
    hub.route = (from, to, data) => {
      if (from === ia!.id && to === ib!.id)
        return [{ to: ic!.id, from, data: { ...data, linkId: linkOf(ia!.id, ic!.id) } }]
      if (from === ic!.id && to === ia!.id)
        return [{ to: ia!.id, from: ib!.id, data: { ...data, linkId: linkOf(ia!.id, ib!.id) } }]
      return [{ to, from, data }]
    }
    const a = hostileParty(hub, ia!)
    const b = hostileParty(hub, ib!)
    const c = hostileParty(hub, ic!)
    for (const p of [a, b, c]) await p.party.start()
    const sid = 'ee'.repeat(32) as never
    const sa = a.party.session({ id: sid, participants: [ia!.id, ib!.id] })
    const sent = sa.send(ib!.id, 1, utf8('for b only'))
    await until(() => a.events.some((e) => e.type === 'handshake-failed'), 20_000, 'handshake failure')
    expect(a.events.find((e) => e.type === 'handshake-failed')).toMatchObject({
      code: 'HANDSHAKE_UNEXPECTED_PEER',
      peer: ib!.id,
    })
    // another party answered on a direct link: evidence against the signaling path
    expect(a.events.find((e) => e.type === 'alarm')).toMatchObject({
      code: 'HANDSHAKE_UNEXPECTED_PEER',
      peer: ib!.id,
    })
    await sent
    await new Promise((r) => setTimeout(r, 300))
    expect(c.events.some((e) => e.type === 'message')).toBe(false)
    expect(c.party.counters().byTransport.webrtc?.messagesReceived ?? 0).toBe(0)
    expect(a.party.counters().byTransport.webrtc?.messagesSent ?? 0).toBe(0)
    // c was asked by "a" and reached a: nothing wrong on its side
    expect(c.events.some((e) => e.type === 'alarm')).toBe(false)
  }, 40_000)
})

/** A party in this process over a hostile server's signaling: webrtc, or hybrid with its relay. */
async function partyOn(
  server: MitmServer,
  identity: Identity,
  kind: 'webrtc' | 'hybrid',
  policy: DialPolicy = {},
): Promise<{ party: Party; transport: Transport; events: PartyEvent[] }> {
  const crypto = createNobleBackend() // the identities are noble's
  const signaling = createSignalingClient({
    url: server.url,
    publicKey: identity.key.publicKey,
    sign: (b) => crypto.ed25519.sign(identity.key, b),
  })
  const rtc = { SimplePeer: loadSimplePeer(), wrtc: loadWrtc(), candidateFilter: loopbackOnly, ...policy }
  const transport =
    kind === 'hybrid'
      ? createHybridTransport({ signaling, room: 'mitm', webrtc: rtc })
      : createWebRtcTransport({ signaling, room: 'mitm', ...rtc })
  const party = createParty({ identity: identity.key, crypto, transport, nextTurn: setImmediateTurn })
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  cleanups.push(async () => {
    await party.stop()
    signaling.stop()
  })
  const started = signaling.start()
  await party.start()
  await started
  return { party, transport, events }
}

async function mitmServer(rewriteHellos: boolean): Promise<MitmServer> {
  const server = await startMitmServer({ rewriteHellos })
  cleanups.push(() => server.stop())
  return server
}

const alarmed = (events: PartyEvent[], code: string): boolean =>
  events.some((e) => e.type === 'alarm' && e.code === code)

describe('a signaling server that terminates DTLS', () => {
  it('and swaps the fingerprints is caught: FINGERPRINT_MISMATCH, an alarm on both sides, no message', async () => {
    const server = await mitmServer(false)
    const [ia, ib] = await orderedIdentities(2)
    const a = await partyOn(server, ia!, 'webrtc', { maxAttempts: 1 })
    const b = await partyOn(server, ib!, 'webrtc', { maxAttempts: 1 })
    await until(
      () => alarmed(a.events, 'FINGERPRINT_MISMATCH') && alarmed(b.events, 'FINGERPRINT_MISMATCH'),
      20_000,
      'fingerprint alarms',
    )
    for (const side of [a, b]) {
      expect(side.events.find((e) => e.type === 'handshake-failed')).toMatchObject({
        code: 'FINGERPRINT_MISMATCH',
      })
      expect(side.party.peers()).toEqual([])
    }
    // the man in the middle saw the handshake and nothing else
    expect(server.stats.hellosRewritten).toBe(0)
    expect(server.stats.dataFrames).toBe(0)
    expect([...a.events, ...b.events].some((e) => e.type === 'message')).toBe(false)
  }, 40_000)

  it('and rewrites the fingerprint lists in the hellos is caught: HANDSHAKE_BAD_SIGNATURE raises an alarm on both sides', async () => {
    const server = await mitmServer(true)
    const [ia, ib] = await orderedIdentities(2)
    const a = await partyOn(server, ia!, 'webrtc', { maxAttempts: 1 })
    const b = await partyOn(server, ib!, 'webrtc', { maxAttempts: 1 })
    const failed = (events: PartyEvent[]) => events.some((e) => e.type === 'handshake-failed')
    await until(() => failed(a.events) && failed(b.events), 20_000, 'handshake failures')
    await until(
      () => alarmed(a.events, 'HANDSHAKE_BAD_SIGNATURE') && alarmed(b.events, 'HANDSHAKE_BAD_SIGNATURE'),
      5_000,
      'alarms on both sides',
    ).catch(() => undefined)
    for (const [side, peer] of [
      [a, ib!.id],
      [b, ia!.id],
    ] as const) {
      // each end's fingerprint check passed: the hellos were rewritten to match
      expect(side.events.find((e) => e.type === 'handshake-failed')).toMatchObject({
        code: 'HANDSHAKE_BAD_SIGNATURE',
        transport: 'webrtc',
      })
      expect(side.events.find((e) => e.type === 'alarm')).toMatchObject({
        code: 'HANDSHAKE_BAD_SIGNATURE',
        peer,
      })
      expect(side.party.peers()).toEqual([])
    }
    expect(server.stats.hellosRewritten).toBeGreaterThanOrEqual(2)
    expect(server.stats.dataFrames).toBe(0)
  }, 40_000)

  it('and rewrites the hellos: hybrid parties raise the alarm and never fall back to its relay', async () => {
    const server = await mitmServer(true)
    const [ia, ib] = await orderedIdentities(2)
    const a = await partyOn(server, ia!, 'hybrid', { maxAttempts: 2 })
    const b = await partyOn(server, ib!, 'hybrid', { maxAttempts: 2 })
    await until(
      () => alarmed(a.events, 'HANDSHAKE_BAD_SIGNATURE') || alarmed(b.events, 'HANDSHAKE_BAD_SIGNATURE'),
      20_000,
      'an alarm',
    ).catch(() => undefined)
    // past the fallback delay (3 s from the first attempt) and webrtc's attempts; a failed
    // attempt alone (webrtc backing off) would open the relay at once
    await new Promise((r) => setTimeout(r, 4000))
    for (const [side, peer] of [
      [a, ib!.id],
      [b, ia!.id],
    ] as const) {
      expect(alarmed(side.events, 'HANDSHAKE_BAD_SIGNATURE')).toBe(true)
      expect((side.transport as HybridTransport).isRelayBlocked(peer)).toBe(true)
      expect(side.events.some((e) => e.type === 'peer' && e.transport === 'relay')).toBe(false)
      expect(side.party.peers()).toEqual([])
    }
    expect(server.stats.relayFrames).toBe(0)
  }, 40_000)

  it('and rewrites the hellos: every retry backs off, and a party gives up on a peer outside its roster (a failed handshake is no good link)', async () => {
    const server = await mitmServer(true)
    const [ia, ib] = await orderedIdentities(2) // a < b: a offers, b asks for offers
    const maxAttempts = 3
    const backoff = { initialMs: 200, maxMs: 800, factor: 2, jitter: 0 }
    const delay = (k: number): number => Math.min(backoff.maxMs, backoff.initialMs * 2 ** k)
    // a gives up on b after maxAttempts retries; b has a in its roster and asks for it forever
    const a = await partyOn(server, ia!, 'webrtc', { maxAttempts, backoff })
    await partyOn(server, ib!, 'webrtc', { maxAttempts, backoff, persistentPeers: new Set([ia!.id]) })
    const offers: number[] = [] // a's attempts
    const requests: number[] = [] // b's
    const watch = (): void => {
      const now = Date.now()
      while (offers.length < (server.stats.offers.get(ia!.id) ?? 0)) offers.push(now)
      while (requests.length < (server.stats.requests.get(ib!.id) ?? 0)) requests.push(now)
    }
    const aGaveUp = () =>
      a.events.some((e) => e.type === 'peer' && e.state === 'closed' && /gave up/.test(e.reason ?? ''))
    // without backoff the pair is re-linked about five times a second forever: watch until a
    // gives up, or until it has made far more attempts than its schedule allows
    const end = Date.now() + 30_000
    while (!aGaveUp() && offers.length <= 5 * (maxAttempts + 1) && Date.now() < end) {
      watch()
      await new Promise((r) => setTimeout(r, 10))
    }
    watch()
    expect(aGaveUp()).toBe(true)
    // a's own attempts: the first and maxAttempts retries, each after the schedule's delay
    // (jitter 0: 200, 400, 800 ms at least); b's requests meanwhile wait for a's pending retry
    const own = offers.length
    expect(own).toBeGreaterThanOrEqual(maxAttempts + 1)
    expect(own).toBeLessThanOrEqual(maxAttempts + 2)
    for (let k = 1; k <= maxAttempts; k++)
      expect(offers[k]! - offers[k - 1]!).toBeGreaterThanOrEqual(delay(k - 1) - 20)
    expect(alarmed(a.events, 'HANDSHAKE_BAD_SIGNATURE')).toBe(true)
    // then: b goes on asking, backed off (its delay has reached 800 ms), and a gives each
    // request one attempt, no more
    const since = requests.length
    const window = 3000
    const stop = Date.now() + window
    while (Date.now() < stop) {
      watch()
      await new Promise((r) => setTimeout(r, 10))
    }
    watch()
    const asked = requests.length - since
    expect(asked).toBeGreaterThanOrEqual(1)
    expect(asked).toBeLessThanOrEqual(Math.ceil(window / backoff.maxMs) + 1)
    expect(offers.length - own).toBeLessThanOrEqual(asked + 1)
  }, 60_000)
})
