/**
 * Freshness is judged when a unit arrives, not when it is taken (issue #16, item 5): a unit held
 * for a session not opened yet (up to 60 s) is delivered when the session opens later than the
 * 30 s skew window after it arrived.
 */
import { generateIdentity, type PartyEvent, partyIdToBytes } from '@conclave/core'
import { createInThreadSessionHost, createParty } from '@conclave/core/host'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { network, RawPeer, randomSid, sidBytes, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

describe('units held for a session not opened yet', () => {
  it('a unit held 45 s, then released when its session opens, is delivered (fresh at arrival)', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    let skip = 0
    const now = () => Date.now() + skip
    const key = (await generateIdentity(crypto)).key
    const host = createInThreadSessionHost({ crypto, identity: key, now })
    const party = createParty({ identity: key, crypto, transport: net.transport(), host })
    const events: PartyEvent[] = []
    party.on('event', (e) => events.push(e))
    await party.start()
    stops.push(() => party.stop())
    const m = await RawPeer.create(net, crypto)
    await m.link(party.id)
    const sid = randomSid(crypto)
    m.send(
      party.id,
      await m.unit({ sessionId: sidBytes(sid), body: new Uint8Array([45]) }, partyIdToBytes(party.id)),
    )
    await until(() => host.unknownSessionUsage(m.id).sessions === 1, 5000, 'the unit held')
    skip = 45_000 // within the 60 s hold, past the 30 s skew window
    const s = party.session({ id: sid, participants: [party.id, m.id] })
    expect(await s.receive(m.id, 1, { timeoutMs: 5000 })).toEqual(new Uint8Array([45]))
    expect(events.filter((e) => e.type === 'drop')).toEqual([])
  })
})
