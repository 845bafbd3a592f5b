/**
 * The party tells its transport which links finished their handshake (`Link.markReady`), so a
 * transport that counts failed attempts counts a link as good only then (DESIGN "Connections").
 */
import { generateIdentity, type PartyEvent, type PartyId, parseRoster } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createParty } from '@conclave/core/host'
import { createMemoryNetwork, type Link, type Transport } from '@conclave/core/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

/** `inner` whose links record how often the party marked them ready. */
function spying(inner: Transport): { transport: Transport; marks: Map<Link, number> } {
  const marks = new Map<Link, number>()
  const transport: Transport = {
    kind: inner.kind,
    start: (local, o) => inner.start(local, o),
    stop: () => inner.stop(),
    connect: (peer, o) => inner.connect(peer, o),
    onLink: (handler) =>
      inner.onLink((link) => {
        marks.set(link, 0)
        // the memory link has no attempts to count: give it the method a dialing transport has
        ;(link as { markReady?: () => void }).markReady = () => marks.set(link, (marks.get(link) ?? 0) + 1)
        handler(link)
      }),
  }
  return { transport, marks }
}

describe('party: links marked ready', () => {
  it('marks a link ready when its handshake completes, and not a link whose handshake is refused', async () => {
    const crypto = createNobleBackend()
    const net = createMemoryNetwork()
    const [ka, kb, kc] = await Promise.all([1, 2, 3].map(() => generateIdentity(crypto)))
    const make = (key: typeof ka, roster?: PartyId[]) => {
      const spy = spying(net.transport())
      const party = createParty({
        identity: key!.key,
        crypto,
        transport: spy.transport,
        ...(roster ? { roster: parseRoster({ version: 1, parties: roster.map((id) => ({ id })) }) } : {}),
      })
      const events: PartyEvent[] = []
      party.on('event', (e) => events.push(e))
      stops.push(() => party.stop())
      return { party, ...spy, events }
    }
    // a admits only b: c's handshake with a is refused (HANDSHAKE_NOT_IN_ROSTER)
    const a = make(ka, [ka!.id, kb!.id])
    const b = make(kb)
    const c = make(kc)
    for (const p of [a, b, c]) await p.party.start()
    await a.party.connect(kb!.id)
    await c.party.connect(ka!.id)
    await until(() => a.party.peers().some((p) => p.peer === kb!.id), 5000, 'a ready link to b')
    await until(
      () => a.events.some((e) => e.type === 'handshake-failed' && e.peer === kc!.id),
      5000,
      'c refused',
    )
    const byPeer = (peer: PartyId) => [...a.marks].filter(([l]) => l.peer === peer).map(([, n]) => n)
    expect(byPeer(kb!.id)).toEqual([1])
    expect(byPeer(kc!.id).every((n) => n === 0)).toBe(true)
    expect(byPeer(kc!.id).length).toBeGreaterThan(0)
  })
})
