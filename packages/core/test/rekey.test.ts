/**
 * Re-keying (DESIGN "Frames", issue #16 item 8): a link past its frame bound or its age bound is
 * closed with `REKEY_DUE` and re-made at once with a fresh handshake, without losing, repeating
 * or reordering a message, and without counting it as a failure (no drop, no penalty, no
 * backoff); a peer that sends on past the bound is cut by the receiver, without penalty.
 */
import { generateIdentity, type Limits, type PartyEvent, type PartyId, resolveLimits } from '@conclave/core'
import { createInThreadSessionHost, createParty } from '@conclave/core/host'
import { createNodeCrypto } from '@conclave/core/node'
import type { MemoryNetwork } from '@conclave/core/transport'
import { RecordType } from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Message `i`: its number first, then `extra` bytes (a large one is chunked over frames). */
function body(i: number, extra = 0): Uint8Array {
  const b = new Uint8Array(4 + extra).fill(i & 0xff)
  new DataView(b.buffer).setUint32(0, i)
  return b
}
const numberOf = (m: Uint8Array): number => new DataView(m.buffer, m.byteOffset).getUint32(0)

/** A `peer` event of a ready link lost to a re-key. */
const rekeyed = (e: PartyEvent): boolean => e.type === 'peer' && e.state === 'lost' && e.code === 'REKEY_DUE'

/** Nothing any party counts or tells as a fault, a drop, an alarm or a retry. */
function expectNoFault(ps: readonly TestParty[]): void {
  for (const p of ps) {
    const c = p.party.counters()
    expect(c.drops).toEqual({})
    expect(c.handshakeFailures).toEqual({})
    const faults = p.events.filter(
      (e) =>
        e.type === 'drop' ||
        e.type === 'alarm' ||
        e.type === 'handshake-failed' ||
        (e.type === 'peer' && (e.state === 'backoff' || (e.state === 'lost' && e.code !== 'REKEY_DUE'))),
    )
    expect(faults).toEqual([])
  }
}

/** The largest data-frame counter each sender used towards each peer (read off the wire). */
function watchCounters(net: MemoryNetwork): Map<string, bigint> {
  const most = new Map<string, bigint>()
  net.setInterceptor(({ from, to, frame }) => {
    if (frame[0] === 2) {
      const counter = new DataView(frame.buffer, frame.byteOffset + 1, 8).getBigUint64(0)
      const key = `${from.slice(0, 8)}→${to.slice(0, 8)}`
      if (counter > (most.get(key) ?? -1n)) most.set(key, counter)
    }
    return frame
  })
  return most
}

describe('re-keying', () => {
  it('a link past rekeyAfterFrames is re-made with a fresh handshake: three parties exchange 900 messages, each arrives once and in order, with no drop, penalty or backoff', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const most = watchCounters(net)
    const BOUND = 40
    const ps: TestParty[] = []
    for (let i = 0; i < 3; i++) {
      const p = await makeParty(net, crypto, { limits: { rekeyAfterFrames: BOUND } })
      stops.push(() => p.party.stop())
      ps.push(p)
    }
    const ids = ps.map((p) => p.party.id)
    const sid = randomSid(crypto)
    const sessions = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    const N = 150
    // every party sends N numbered messages to each other one, paced so that most go in
    // frames of their own (every tenth is 100 KiB: chunked over two frames)
    const senders = sessions.map(async (s, k) => {
      for (let i = 0; i < N; i++) {
        for (const to of ids) if (to !== ids[k]) await s.send(to, 1, body(i, i % 10 === 9 ? 100_000 : 0))
        await sleep(1)
      }
    })
    const receivers = sessions.map(async (s, k) => {
      const got = new Map<PartyId, number[]>()
      for (const from of ids) {
        if (from === ids[k]) continue
        const list: number[] = []
        for (let i = 0; i < N; i++) list.push(numberOf(await s.receive(from, 1, { timeoutMs: 20_000 })))
        got.set(from, list)
      }
      return got
    })
    await Promise.all(senders)
    const got = await Promise.all(receivers)
    for (const byPeer of got) {
      expect(byPeer.size).toBe(2)
      // none lost, none twice, in order
      for (const list of byPeer.values()) expect(list).toEqual(Array.from({ length: N }, (_, i) => i))
    }
    // nothing more is waiting: no duplicate reached a session
    for (const [k, s] of sessions.entries()) {
      const other = ids[(k + 1) % 3]!
      await expect(s.receive(other, 1, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'ROUND_TIMEOUT' })
    }
    // every link was re-made several times, and no sender went far past the bound on one key:
    // a flush under way is finished, then the close record follows
    for (const p of ps) {
      const c = p.party.counters()
      const sent = c.byTransport.memory!.framesSent
      expect(c.handshakes).toBeGreaterThanOrEqual(2 * 4)
      expect(c.handshakes * (BOUND + 8)).toBeGreaterThanOrEqual(sent)
      expect(p.events.filter(rekeyed).length).toBeGreaterThanOrEqual(2 * 3)
    }
    expect(most.size).toBe(6)
    for (const m of most.values()) expect(m).toBeLessThan(BOUND + 4)
    expectNoFault(ps)
  }, 60_000)

  it('a backlog six times the bound still gets through: the re-key close carries the acks, and each end reads until the other closes', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const limits = { rekeyAfterFrames: 16 }
    const a = await makeParty(net, crypto, { limits })
    stops.push(() => a.party.stop())
    const bKey = (await generateIdentity(crypto)).key
    const bId = (await import('@conclave/core')).partyIdFromBytes(bKey.publicKey) as PartyId
    const ids = [a.party.id, bId]
    const sid = randomSid(crypto)
    const sa = a.party.session({ id: sid, participants: ids })
    // b is not on the network yet: 100 messages of 60 KB wait in a's retransmit buffer, and the
    // first link starts with a burst of 100 frames, six times the bound
    const N = 100
    await Promise.all(Array.from({ length: N }, (_, i) => sa.send(bId, 1, body(i, 60_000))))
    const b = await makeParty(net, crypto, { key: bKey, limits })
    stops.push(() => b.party.stop())
    const sb = b.party.session({ id: sid, participants: ids })
    const list: number[] = []
    for (let i = 0; i < N; i++) list.push(numberOf(await sb.receive(a.party.id, 1, { timeoutMs: 20_000 })))
    expect(list).toEqual(Array.from({ length: N }, (_, i) => i))
    await until(() => a.party.peers()[0]?.pendingUnits === 0, 5000, 'everything acknowledged')
    expect(a.party.counters().handshakes).toBeGreaterThan(1)
    expectNoFault([b])
  }, 30_000)

  it('a link whose keys are rekeyAfterMs old on the host clock is re-made, and the session carries on', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    // both parties read one fake clock, which the test moves on
    let offset = 0
    const now = () => Date.now() + offset
    const limits: Partial<Limits> = { rekeyAfterMs: 60_000, keepaliveMs: 20, lostAfterMs: 600_000 }
    const ps: TestParty[] = []
    for (let i = 0; i < 2; i++) {
      const key = (await generateIdentity(crypto)).key
      const host = createInThreadSessionHost({ crypto, identity: key, limits, now })
      const party = createParty({ identity: key, crypto, transport: net.transport(), host })
      const events: PartyEvent[] = []
      party.on('event', (e) => events.push(e))
      await party.start()
      stops.push(() => party.stop())
      ps.push({ party, host, key, events })
    }
    const [a, b] = ps as [TestParty, TestParty]
    const ids = [a.party.id, b.party.id]
    const sid = randomSid(crypto)
    const sa = a.party.session({ id: sid, participants: ids })
    const sb = b.party.session({ id: sid, participants: ids })
    await sa.send(b.party.id, 1, body(0))
    expect(numberOf(await sb.receive(a.party.id, 1))).toBe(0)
    // keepalives flow (a frame every 20 ms), but the keys are young: nothing is re-keyed
    await sleep(300)
    expect(a.party.counters().handshakes).toBe(1)
    // a minute later on the host clock, the next keepalive finds the keys old
    offset += 60_000
    await until(
      () => ps.every((p) => p.party.counters().handshakes === 2 && p.party.peers().length === 1),
      5000,
      'the link re-made once',
    )
    expect([...a.events, ...b.events].filter(rekeyed).length).toBeGreaterThanOrEqual(1)
    await sb.send(a.party.id, 1, body(1))
    await sa.send(b.party.id, 1, body(2))
    expect(numberOf(await sa.receive(b.party.id, 1))).toBe(1)
    expect(numberOf(await sb.receive(a.party.id, 1))).toBe(2)
    // the new keys are young again: no second re-key without the clock
    await sleep(200)
    expect(a.party.counters().handshakes).toBe(2)
    expectNoFault(ps)
  })

  it('a peer that sends on past the bound and never closes is cut by the receiver with REKEY_DUE, without penalty', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto, { limits: { rekeyAfterFrames: 40, handshakeTimeoutMs: 300 } })
    stops.push(() => a.party.stop())
    // the peer's channel has the default bound (2³²) and never hears a's close: a's data
    // frames to it are lost on the way
    const m = await RawPeer.create(net, crypto)
    net.setInterceptor(({ from, frame }) => (from === a.party.id && frame[0] === 2 ? null : frame))
    const ch = await m.link(a.party.id)
    let sent = 0
    const flood = (async () => {
      // one frame at a time, for at most 2 s
      const end = Date.now() + 2000
      while (m.ready.has(a.party.id) && Date.now() < end) {
        ch.sendRecord({ type: RecordType.ping, value: BigInt(sent++) })
        ch.flush()
        await sleep(1)
      }
    })()
    await until(() => a.events.some(rekeyed), 3000, 'a cuts the link with REKEY_DUE')
    await flood
    expect(sent).toBeGreaterThan(40)
    // a started its close at frame 40, read on for one handshake step, then cut the link
    const cut = a.events.find(rekeyed) as Extract<PartyEvent, { type: 'peer' }>
    expect(cut.reason).toMatch(/40 frames received.*did not close in 300 ms/)
    expect(a.party.counters().byTransport.memory!.framesReceived).toBeGreaterThan(2 + 40)
    // not a fault of the peer: no drop, no penalty; the link is re-made at once
    expect(a.party.counters().drops).toEqual({})
    expect(a.events.filter((e) => e.type === 'drop' || e.type === 'alarm')).toEqual([])
    await until(() => a.party.counters().handshakes === 2, 3000, 'a new link to the peer')
  })

  it('refuses a re-key bound below its floor, or not an integer (INVALID_ARGUMENT)', () => {
    expect(resolveLimits({})).toMatchObject({ rekeyAfterFrames: 2 ** 32, rekeyAfterMs: 86_400_000 })
    expect(resolveLimits({ rekeyAfterFrames: 16, rekeyAfterMs: 100 })).toMatchObject({
      rekeyAfterFrames: 16,
      rekeyAfterMs: 100,
    })
    for (const bad of [
      { rekeyAfterFrames: 15 },
      { rekeyAfterFrames: 40.5 },
      { rekeyAfterFrames: 2 ** 53 },
      { rekeyAfterMs: 99 },
    ])
      expect(() => resolveLimits(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})
