/**
 * Caps that all peers share are per sender first (issue #16, item 2): a sender filling its own
 * share of the unknown-session buffer costs the others nothing, and an over-cap or expired early
 * unit is dropped without blame (an honest peer's early units are not misbehaviour). Pending
 * proposals are capped per proposer first too, and expire (with their preimages) on a timer.
 */
import { type CryptoBackend, type PartyId, partyIdToBytes, sessionIdToBytes } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { BROADCAST_RECIPIENT, deriveSessionId, encodeProposal } from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, sidBytes, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

function dropped(p: TestParty, code: string): number {
  return (p.party.counters().drops as Record<string, number>)[code] ?? 0
}

/** A valid proposal from `from` naming `to`, as wire bytes. */
async function proposal(crypto: CryptoBackend, from: RawPeer, to: PartyId): Promise<Uint8Array> {
  const input = {
    protocol: 'test',
    params: new Uint8Array(0),
    participants: [from.id, to],
    proposer: from.id,
    nonce: crypto.randomBytes(32),
  }
  const sessionId = sessionIdToBytes(deriveSessionId(input))
  return from.unit(
    { sessionId, round: 0, kind: 'proposal', body: encodeProposal(input) },
    BROADCAST_RECIPIENT,
  )
}

/**
 * A party with the default limits (100 unknown sessions or pending proposals per sender, 1,000
 * overall, penalty threshold 100), linked to a flooding and an honest peer; the flooder sends
 * 1,000 units made by `make`, and 900 of them are dropped over its share.
 */
async function flooded(make: (crypto: CryptoBackend, flood: RawPeer, to: PartyId) => Promise<Uint8Array>) {
  const crypto = createNodeCrypto()
  const net = network()
  const a = await makeParty(net, crypto)
  stops.push(() => a.party.stop())
  const flood = await RawPeer.create(net, crypto)
  const honest = await RawPeer.create(net, crypto)
  await flood.link(a.party.id)
  await honest.link(a.party.id)
  for (let i = 0; i < 1000; i++) {
    flood.send(a.party.id, await make(crypto, flood, a.party.id))
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1))
  }
  await until(() => dropped(a, 'UNKNOWN_SESSION_OVER_CAP') === 900, 20_000, '900 over-cap drops')
  return { crypto, a, flood, honest }
}

describe('the unknown-session buffer, per sender first', () => {
  it("1,000 early units from one sender fill only its share: another sender's early unit is held and delivered, and nobody is banned", async () => {
    const { crypto, a, flood, honest } = await flooded((crypto, flood, to) =>
      flood.unit({ sessionId: sidBytes(randomSid(crypto)), body: new Uint8Array([1]) }, partyIdToBytes(to)),
    )
    const to = partyIdToBytes(a.party.id)
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

describe('pending proposals, per proposer first', () => {
  it("1,000 valid proposals from one member do not block another member's proposal, and cost no penalty", async () => {
    const { crypto, a, honest } = await flooded(proposal)
    expect(a.host.proposalUsage()).toEqual({ pending: 100, preimages: 100 })

    honest.send(a.party.id, await proposal(crypto, honest, a.party.id))
    await until(
      () => a.events.some((e) => e.type === 'proposal' && e.proposal.proposer === honest.id),
      5000,
      "the honest member's proposal announced",
    )
    expect(a.party.proposals().filter((p) => p.proposer === honest.id)).toHaveLength(1)
    expect(dropped(a, 'PEER_BANNED')).toBe(0)
  })

  it('pending proposals and their preimages expire on a timer, without proposals() being called', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto, { limits: { unknownSessionHoldMs: 300 } })
    stops.push(() => a.party.stop())
    const m = await RawPeer.create(net, crypto)
    await m.link(a.party.id)
    for (let i = 0; i < 3; i++) m.send(a.party.id, await proposal(crypto, m, a.party.id))
    await until(() => a.host.proposalUsage().pending === 3, 5000, 'three pending')
    expect(a.host.proposalUsage().preimages).toBe(3)
    await until(() => a.host.proposalUsage().pending === 0, 10_000, 'expired')
    expect(a.host.proposalUsage().preimages).toBe(0)
  })
})
