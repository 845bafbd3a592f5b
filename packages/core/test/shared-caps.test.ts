/**
 * Caps that all peers share are per sender first (issue #16, item 2): a sender filling its own
 * share of the unknown-session buffer costs the others nothing, and an over-cap or expired early
 * unit is dropped without blame (an honest peer's early units are not misbehaviour).
 */
import { partyIdToBytes } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, sidBytes, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

function dropped(p: TestParty, code: string): number {
  return (p.party.counters().drops as Record<string, number>)[code] ?? 0
}

describe('the unknown-session buffer, per sender first', () => {
  it("1,000 early units from one sender fill only its share: another sender's early unit is held and delivered, and nobody is banned", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    // the default limits: 100 unknown sessions per sender, 1,000 overall, penalty threshold 100
    const a = await makeParty(net, crypto)
    stops.push(() => a.party.stop())
    const flood = await RawPeer.create(net, crypto)
    const honest = await RawPeer.create(net, crypto)
    await flood.link(a.party.id)
    await honest.link(a.party.id)
    const to = partyIdToBytes(a.party.id)
    for (let i = 0; i < 1000; i++) {
      const unit = await flood.unit({ sessionId: sidBytes(randomSid(crypto)), body: new Uint8Array([1]) }, to)
      flood.send(a.party.id, unit)
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1))
    }
    await until(() => dropped(a, 'UNKNOWN_SESSION_OVER_CAP') === 900, 20_000, '900 over-cap drops')
    expect(a.host.unknownSessionUsage(flood.id).sessions).toBe(100)

    const sid = randomSid(crypto)
    honest.send(a.party.id, await honest.unit({ sessionId: sidBytes(sid), body: new Uint8Array([7]) }, to))
    await until(
      () => a.host.unknownSessionUsage(honest.id).sessions === 101,
      5000,
      "the honest sender's unit held",
    )
    const s = a.party.session({ id: sid, participants: [a.party.id, honest.id] })
    expect(await s.receive(honest.id, 1, { timeoutMs: 5000 })).toEqual(new Uint8Array([7]))

    // 900 over-cap drops weighed nothing: no one is cut off
    expect(dropped(a, 'PEER_BANNED')).toBe(0)
    expect(a.events.filter((e) => e.type === 'drop' && e.code === 'PEER_BANNED')).toEqual([])
  })

  it('early units that expire unopened are dropped without blame', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto, { limits: { unknownSessionHoldMs: 300, penaltyThreshold: 3 } })
    stops.push(() => a.party.stop())
    const m = await RawPeer.create(net, crypto)
    await m.link(a.party.id)
    const to = partyIdToBytes(a.party.id)
    for (let i = 0; i < 5; i++)
      m.send(
        a.party.id,
        await m.unit({ sessionId: sidBytes(randomSid(crypto)), body: new Uint8Array([i]) }, to),
      )
    await until(() => dropped(a, 'UNKNOWN_SESSION_EXPIRED') === 5, 10_000, 'five expired')
    expect(a.host.unknownSessionUsage(m.id).sessions).toBe(0)
    expect(dropped(a, 'PEER_BANNED')).toBe(0)
  })
})
