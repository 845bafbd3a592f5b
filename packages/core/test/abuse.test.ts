/**
 * Abusive peers: a flood far past a peer's rate limits is throttled, then cut off and refused
 * for a cool-down, while the other parties' session completes; invalid input adds up to the
 * same end.
 */
import { partyIdToBytes, utf8 } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, sidBytes, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

describe('abusive peers', () => {
  it("a flooding peer is throttled, then cut off and refused, while the others' session completes", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const limits = { peerMessagesPerSecond: 200, peerBurstSeconds: 1, throttleGraceMs: 500, banMs: 5000 }
    const honest: TestParty[] = []
    for (let i = 0; i < 3; i++) {
      const p = await makeParty(net, crypto, { limits })
      stops.push(() => p.party.stop())
      honest.push(p)
    }
    const [a] = honest
    const m = await RawPeer.create(net, crypto)
    await m.link(a!.party.id)
    const flooded = randomSid(crypto)
    a!.party.session({ id: flooded, participants: [a!.party.id, m.id] })
    // the flood: bounded in count and time, and it stops by itself
    const to = partyIdToBytes(a!.party.id)
    const started = Date.now()
    let sent = 0
    const flood = (async () => {
      while (sent < 6000 && Date.now() - started < 8000 && !m.closes.length) {
        for (let i = 0; i < 100 && !m.closes.length; i++) {
          const u = await m.unit({ sessionId: sidBytes(flooded), body: new Uint8Array(64) }, to)
          if (!m.closes.length) m.send(a!.party.id, u)
        }
        sent += 100
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    // meanwhile the honest parties run a session
    const ids = honest.map((p) => p.party.id)
    const sid = randomSid(crypto)
    // three rounds of broadcasts among the honest parties, all collected
    const sessions = honest.map((p) => p.party.session({ id: sid, participants: ids }))
    for (let round = 1; round <= 3; round++) {
      await Promise.all(sessions.map((s, i) => s.broadcast(round, utf8(`r${round} from ${i}`))))
      const got = await Promise.all(sessions.map((s) => s.collect(round, { broadcast: true })))
      for (const g of got) expect(g.size).toBe(2)
    }
    await flood
    await until(() => m.closes.some((c) => c.code === 'PEER_BANNED'), 10_000, 'the flooder to be cut off')
    const c = a!.party.counters()
    expect(c.throttled).toBeGreaterThan(0)
    expect(c.drops.PEER_BANNED).toBe(1)
    expect(a!.events.some((e) => e.type === 'drop' && e.code === 'PEER_BANNED' && e.peer === m.id)).toBe(true)
    // during the cool-down its new handshakes are refused
    await m.transport!.connect(a!.party.id)
    await until(() => a!.party.counters().handshakeFailures.PEER_BANNED === 1, 5000, 'refused handshake')
    // the honest links were never touched
    expect(
      a!.party
        .peers()
        .map((p) => p.peer)
        .sort(),
    ).toEqual(ids.slice(1).sort())
  }, 30_000)

  it('invalid input adds up to a penalty that cuts the peer off', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto, { limits: { penaltyThreshold: 100 } })
    stops.push(() => a.party.stop())
    const m = await RawPeer.create(net, crypto)
    await m.link(a.party.id)
    const sid = randomSid(crypto)
    a.party.session({ id: sid, participants: [a.party.id, m.id] })
    for (let i = 0; i < 10 && !m.closes.length; i++) {
      const u = await m.unit({ sessionId: sidBytes(sid), body: utf8(`bad ${i}`) }, partyIdToBytes(a.party.id))
      u[u.length - 1] = u[u.length - 1]! ^ 1 // a bad signature weighs 20
      m.send(a.party.id, u)
      await new Promise((r) => setTimeout(r, 20))
    }
    await until(() => m.closes.some((c) => c.code === 'PEER_BANNED'), 5000, 'cut off')
    expect(a.party.counters().drops.ENVELOPE_BAD_SIGNATURE).toBeGreaterThanOrEqual(5)
  })
})
