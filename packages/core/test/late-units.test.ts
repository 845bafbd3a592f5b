/**
 * Units that arrive for a session this party closed or aborted are late, not misbehaviour
 * (issue #16, item 3): the peer may have sent them before it learnt the session was over. They
 * are dropped with their reason and never earn the sender penalty points, so an honest peer
 * that keeps sending is never cut off and its other sessions go on.
 */
import { partyIdToBytes } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, sidBytes, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

/** A low threshold: the late units sent below are several times what would have cut the peer off. */
const THRESHOLD = 10
const LATE = 5 * THRESHOLD

describe('late units of a session over here', () => {
  it.each(['closed', 'aborted'] as const)(
    'a peer that keeps sending to a session this party %s is never banned, and its other sessions go on',
    async (how) => {
      const crypto = createNodeCrypto()
      const net = network()
      const a = await makeParty(net, crypto, { limits: { penaltyThreshold: THRESHOLD } })
      stops.push(() => a.party.stop())
      const m = await RawPeer.create(net, crypto)
      await m.link(a.party.id)
      const participants = [a.party.id, m.id]
      const over = randomSid(crypto)
      const other = randomSid(crypto)
      const s = a.party.session({ id: over, participants })
      const goesOn = a.party.session({ id: other, participants })
      if (how === 'closed') s.close()
      else await s.abort('this party gave up').catch(() => undefined)
      const to = partyIdToBytes(a.party.id)
      for (let i = 0; i < LATE; i++)
        m.send(a.party.id, await m.unit({ sessionId: sidBytes(over), body: new Uint8Array([i]) }, to))
      const drops = () => a.party.counters().drops as Record<string, number>
      await until(() => (drops().SESSION_CLOSED ?? 0) >= LATE, 10_000, 'every late unit dropped')
      // dropped with a reason, counted, and never held against the sender
      expect(drops().SESSION_CLOSED).toBe(LATE)
      expect(drops().PEER_BANNED).toBeUndefined()
      expect(a.events.some((e) => e.type === 'drop' && e.code === 'SESSION_CLOSED' && e.peer === m.id)).toBe(
        true,
      )
      // the peer's other session goes on over the same link
      m.send(a.party.id, await m.unit({ sessionId: sidBytes(other), body: new Uint8Array([42]) }, to))
      expect(await goesOn.receive(m.id, 1)).toEqual(new Uint8Array([42]))
      expect(a.party.peers().map((p) => p.peer)).toContain(m.id)
    },
  )
})
