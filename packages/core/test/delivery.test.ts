/**
 * Acknowledged delivery: messages sent while links are cut at random arrive exactly once and
 * in order per sender; a full retransmit buffer is an error to the caller.
 */
import { type Limits, type PartyId, utf8 } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, randomSid, sessionPair, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

function body(i: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, i)
  return b
}

/** Two parties on a memory network, a session between them, linked; `limits` are a's, `bLimits` b's. */
async function linkedPair(limits: Partial<Limits> = {}, bLimits: Partial<Limits> = {}) {
  const pair = await sessionPair(createNodeCrypto(), { limits, bLimits })
  stops.push(pair.stop)
  await pair.a.party.waitForPeers([pair.b.party.id])
  return pair
}

describe('acknowledged delivery', () => {
  it('loses, duplicates and reorders nothing while links are cut at random', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const ps: TestParty[] = []
    for (let i = 0; i < 3; i++) {
      const p = await makeParty(net, crypto)
      stops.push(() => p.party.stop())
      ps.push(p)
    }
    const ids = ps.map((p) => p.party.id)
    const sid = randomSid(crypto)
    const [a, b, c] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    const N = 3000
    // a cutter that stops by itself: at most 40 cuts, at most 10 s
    let cutting = true
    let cuts = 0
    const started = Date.now()
    const cutter = (async () => {
      while (cutting && cuts < 40 && Date.now() - started < 10_000) {
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20))
        const x = ids[Math.floor(Math.random() * 3)]!
        const y = ids.filter((id) => id !== x)[Math.floor(Math.random() * 2)]!
        net.cut(x, y)
        cuts++
      }
    })()
    const sends: Promise<void>[] = []
    for (let i = 0; i < N; i++) {
      sends.push(a!.send(ids[1]!, 1, body(i)))
      sends.push(a!.send(ids[2]!, 1, body(i)))
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1))
    }
    await Promise.all(sends)
    const got = new Map<PartyId, number[]>([
      [ids[1]!, []],
      [ids[2]!, []],
    ])
    for (const [s, id] of [
      [b!, ids[1]!],
      [c!, ids[2]!],
    ] as const) {
      for (let i = 0; i < N; i++) {
        const m = await s.receive(ids[0]!, 1, { timeoutMs: 20_000 })
        got.get(id)!.push(new DataView(m.buffer, m.byteOffset).getUint32(0))
      }
    }
    cutting = false
    await cutter
    for (const list of got.values()) {
      expect(list.length).toBe(N)
      expect(list).toEqual(Array.from({ length: N }, (_, i) => i)) // none lost, none twice, in order
    }
    expect(cuts).toBeGreaterThan(5)
    // nothing more is waiting: no duplicate was ever delivered to the session
    await expect(b!.receive(ids[0]!, 1, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'ROUND_TIMEOUT' })
    const counters = ps[0]!.party.counters()
    expect(counters.handshakes).toBeGreaterThan(2)
    expect(counters.retransmits).toBeGreaterThan(0)
  }, 60_000)

  it('a message sent while the link is down is delivered when it comes back', async () => {
    const { net, a, b, sa, sb } = await linkedPair()
    net.cut(a.party.id, b.party.id)
    await until(() => a.party.peers().length === 0, 2000, 'link down')
    await sa.send(b.party.id, 1, utf8('while down'))
    expect(new TextDecoder().decode(await sb.receive(a.party.id, 1))).toBe('while down')
  })

  it('a full retransmit buffer is an error to the sender (DELIVERY_BUFFER_FULL), never a silent drop', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    // one envelope per unit (no batches): the bound counts envelopes
    const a = await makeParty(net, crypto, { limits: { maxUnackedPerPeer: 50, maxBatchUnits: 1 } })
    stops.push(() => a.party.stop())
    // b is known but never comes online: nothing is acknowledged
    const ghost = (await import('@conclave/core')).partyIdFromBytes(crypto.randomBytes(32)) as PartyId
    const s = a.party.session({ id: randomSid(crypto), participants: [a.party.id, ghost] })
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => s.send(ghost, 1, body(i))))
    const refused = results.filter((r) => r.status === 'rejected')
    expect(refused).toHaveLength(10)
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'DELIVERY_BUFFER_FULL' })
  })

  it('peers() shows what waits for each peer to acknowledge, and it empties once acknowledged', async () => {
    const { a, b, sa, sb } = await linkedPair({ maxBatchUnits: 1 })
    const pending = () => a.party.peers().find((p) => p.peer === b.party.id)!
    expect(pending()).toMatchObject({ pendingUnits: 0, pendingBytes: 0 })
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => sa.send(b.party.id, 1, new Uint8Array(100).fill(i))),
    )
    // acknowledged only once b has processed them (and ackDelayMs later): not yet
    expect(pending().pendingUnits).toBe(20)
    expect(pending().pendingBytes).toBeGreaterThan(20 * 100)
    for (let i = 0; i < 20; i++) await sb.receive(a.party.id, 1)
    await until(() => pending().pendingUnits === 0, 5000, 'acknowledged')
    expect(pending().pendingBytes).toBe(0)
  })

  it('an ack rides in the frame of a reply: a ping-pong costs no frame of acks of its own', async () => {
    const { a, b, sa, sb } = await linkedPair()
    const framesOf = (p: typeof a) => p.party.counters().byTransport.memory?.framesSent ?? 0
    const pendingAt = (p: typeof a, peer: typeof b) => p.party.peers().find((x) => x.peer === peer.party.id)!
    // whatever the set-up left to acknowledge goes by its timer first
    await new Promise((r) => setTimeout(r, 50))
    const a0 = framesOf(a)
    const b0 = framesOf(b)
    // 20 round trips, each well inside the 25 ms ack timer: every reply carries the ack of the
    // ping it answers, every ping the ack of the reply before it
    for (let i = 0; i < 20; i++) {
      await sa.send(b.party.id, 1, new Uint8Array([i]))
      const ping = await sb.receive(a.party.id, 1)
      await sb.send(a.party.id, 1, ping)
      await sa.receive(b.party.id, 1)
      // the ping is acknowledged as soon as the reply arrives, without waiting for a timer
      expect(pendingAt(a, b).pendingUnits).toBe(0)
    }
    expect(framesOf(b) - b0).toBe(20)
    expect(framesOf(a) - a0).toBe(20)
    // the last reply's ack follows by the timer
    await until(() => pendingAt(b, a).pendingUnits === 0, 5000, 'the last reply acknowledged')
    expect(framesOf(a) - a0).toBe(21)
  })

  it('ackAfterBytes processed from a peer are acknowledged at once, what is less after ackDelayMs', async () => {
    const { a, b, sa, sb } = await linkedPair(
      { maxBatchUnits: 1 },
      { ackDelayMs: 60_000, ackAfterBytes: 100_000 },
    )
    const pending = () => a.party.peers().find((p) => p.peer === b.party.id)!
    await new Promise((r) => setTimeout(r, 50))
    // 3 × 30 KB processed: under the byte bound, and the timer is a minute away
    for (let i = 0; i < 3; i++) await sa.send(b.party.id, 1, new Uint8Array(30_000).fill(i))
    for (let i = 0; i < 3; i++) await sb.receive(a.party.id, 1)
    await new Promise((r) => setTimeout(r, 200))
    expect(pending().pendingUnits).toBe(3)
    // the fourth passes 100,000 bytes: all four acknowledged without waiting for the timer
    await sa.send(b.party.id, 1, new Uint8Array(30_000).fill(3))
    await sb.receive(a.party.id, 1)
    await until(() => pending().pendingUnits === 0, 2000, 'acknowledged by bytes')
    // the count starts again: the next one waits
    await sa.send(b.party.id, 1, new Uint8Array(30_000).fill(4))
    await sb.receive(a.party.id, 1)
    await new Promise((r) => setTimeout(r, 200))
    expect(pending().pendingUnits).toBe(1)
  })

  it('a batch that does not fit the retransmit buffer is refused whole, with its code', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    // 60 sends in one turn: the first goes alone, the other 59 make batches of 10, 10, 10, 10,
    // 10 and 9; the buffer keeps 5 units: the first and four batches
    const a = await makeParty(net, crypto, { limits: { maxUnackedPerPeer: 5, maxBatchUnits: 10 } })
    stops.push(() => a.party.stop())
    const ghost = (await import('@conclave/core')).partyIdFromBytes(crypto.randomBytes(32)) as PartyId
    const s = a.party.session({ id: randomSid(crypto), participants: [a.party.id, ghost] })
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => s.send(ghost, 1, body(i))))
    expect(results.map((r) => r.status === 'fulfilled')).toEqual(Array.from({ length: 60 }, (_, i) => i < 41))
    for (const r of results.slice(41))
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'DELIVERY_BUFFER_FULL' })
  })
})
