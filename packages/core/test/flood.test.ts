/**
 * The flood test (issue #16, item 9): one insider, on the roster and in a real session with the
 * others, sends as fast as the honest parties' rate limits allow, for a bounded time, every kind
 * of unit: units for sessions its victims never open, valid proposals naming them, broadcasts in
 * that real session (each round and kind once, so each is kept for the echo step), and large
 * chunked messages. Meanwhile three honest parties run a secure sum with consistent broadcasts.
 * The sum completes, no honest party gives anyone a penalty point (the insider stays within its
 * limits, so it earns none either and is never cut off), and every byte-budgeted buffer of every
 * honest party stays within its budgets; the flood did reach them.
 */
import {
  ConclaveError,
  type CounterSnapshot,
  generateIdentity,
  type PartyId,
  type Session,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { TokenBucket } from '@conclave/core/transport'
import { afterEach, expect, it } from 'vitest'
import { makeParty, network, randomSid, type TestParty, until } from './helpers.ts'

const KiB = 1024
const MiB = 1024 * KiB

/** The honest parties' limits: budgets small enough for the flood to reach in seconds. */
const LIMITS = {
  maxMessageBytes: 4 * MiB,
  maxReassemblyBytes: 4 * MiB + 1 * KiB,
  maxReassemblyBytesTotal: 10 * MiB,
  unknownSessionMaxBytesPerSender: 256 * KiB,
  unknownSessionMaxBytes: 1 * MiB,
  inboxBytesPerSender: 8 * MiB,
  inboxBytesTotal: 16 * MiB,
  keptBroadcastBytesPerSender: 256 * KiB,
  keptBroadcastBytesTotal: 1 * MiB,
  // the insider's retransmit buffer (16 MiB) fits: an honest-limited sender is never cut off
  maxUnprocessedBytesPerPeer: 17 * MiB,
  maxUnprocessedBytesTotal: 40 * MiB,
  peerMessagesPerSecond: 2000,
  peerBytesPerSecond: 16 * MiB,
  peerBurstSeconds: 1,
}
/** The insider keeps at most this much unacknowledged per peer (it honours its own limits). */
const INSIDER = { maxUnackedBytesPerPeer: 16 * MiB, maxUnackedPerPeer: 4000 }
/** How long the insider floods. */
const FLOOD_MS = 5000
/** Rounds of the honest parties' secure sum. */
const ROUNDS = 6
/** The share of the honest parties' rates the insider uses (a little below: clocks and framing). */
const PACE = 0.7

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v >>> 0]).buffer)
const readU32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true)

/**
 * The honest parties' rate buckets as the insider sees them: a unit of `bytes` to some victims
 * waits until every one of them has room for it at {@link PACE} of its rates.
 */
class Pacer {
  private readonly units = new Map<PartyId, TokenBucket>()
  private readonly bytes = new Map<PartyId, TokenBucket>()

  constructor(victims: readonly PartyId[]) {
    for (const v of victims) {
      const ups = LIMITS.peerMessagesPerSecond * PACE
      const bps = LIMITS.peerBytesPerSecond * PACE
      this.units.set(v, new TokenBucket({ ratePerSecond: ups, capacity: ups / 10 }))
      this.bytes.set(v, new TokenBucket({ ratePerSecond: bps, capacity: bps / 10 }))
    }
  }

  /** Wait until `to` may take one more unit of `bytes`, then charge it. */
  async pace(to: readonly PartyId[], bytes: number): Promise<void> {
    for (;;) {
      let wait = 0
      for (const v of to) wait = Math.max(wait, this.units.get(v)!.msUntil(1), this.bytes.get(v)!.msUntil(0))
      if (wait <= 0) break
      await sleep(Math.ceil(wait))
    }
    for (const v of to) {
      this.units.get(v)!.charge(1)
      this.bytes.get(v)!.charge(bytes)
    }
  }
}

/**
 * A secure sum over `rounds` rounds: additive shares sent directly in round 1, partial sums
 * broadcast consistently in round 2, then the total broadcast consistently in every round after.
 */
async function secureSum(s: Session, others: readonly PartyId[], x: number, rounds: number): Promise<number> {
  const shares = others.map(() => Math.floor(Math.random() * 2 ** 32))
  const own = (x - shares.reduce((a, b) => a + b, 0)) >>> 0
  await Promise.all(others.map((p, i) => s.send(p, 1, u32(shares[i]!))))
  const got = await s.collect(1)
  const partial = [...got.values()].reduce((a, b) => a + readU32(b), own) >>> 0
  await s.broadcast(2, u32(partial))
  const partials = await s.collect(2, { broadcast: true, consistent: true })
  const total = [...partials.values()].reduce((a, b) => a + readU32(b), partial) >>> 0
  for (let r = 3; r <= rounds; r++) {
    await s.broadcast(r, u32(total))
    const seen = await s.collect(r, { broadcast: true, consistent: true })
    for (const v of seen.values()) expect(readU32(v)).toBe(total)
  }
  return total
}

/** What one kind of flood did. */
interface Tally {
  sent: number
  /** Refused at the insider: its retransmit buffer to a victim was full (its own limit). */
  full: number
}

/**
 * From `from` on, send with `op` until `count` were sent or the deadline passed, pacing each to
 * `to(i)`.
 */
async function floodKind(
  pacer: Pacer,
  from: number,
  deadline: number,
  count: number,
  to: (i: number) => readonly PartyId[],
  bytes: number,
  op: (i: number) => Promise<unknown>,
): Promise<Tally> {
  const t: Tally = { sent: 0, full: 0 }
  await sleep(from - Date.now())
  for (let i = 0; i < count && Date.now() < deadline; ) {
    await pacer.pace(to(i), bytes)
    try {
      await op(i)
      t.sent++
      i++
    } catch (e) {
      if (!(e instanceof ConclaveError) || e.code !== 'DELIVERY_BUFFER_FULL') throw e
      t.full++
      await sleep(50)
    }
  }
  return t
}

it('one insider floods every kind of unit within its limits: the honest session completes, nobody earns a penalty point, and every buffer stays within its byte budgets', async () => {
  const crypto = createNodeCrypto()
  const net = network()
  const keys = await Promise.all([0, 1, 2, 3].map(() => generateIdentity(crypto)))
  const roster = new Set(keys.map((k) => k.id))
  const make = async (i: number, limits: object): Promise<TestParty> => {
    const p = await makeParty(net, crypto, { key: keys[i]!.key, roster, limits })
    stops.push(() => p.party.stop())
    return p
  }
  const honest = [await make(0, LIMITS), await make(1, LIMITS), await make(2, LIMITS)]
  const insider = await make(3, INSIDER)
  const victims = honest.map((h) => h.party.id)
  const I = insider.party
  for (const v of victims) await I.connect(v)
  await I.waitForPeers(victims, { timeoutMs: 5000 })

  // the real session the insider shares with its victims, which they never read from
  const everyone = [...victims, I.id]
  const fid = randomSid(crypto)
  const held = honest.map((h) => h.party.session({ id: fid, participants: everyone }))
  const flood = I.session({ id: fid, participants: everyone })

  const pacer = new Pacer(victims)
  const start = Date.now()
  const deadline = start + FLOOD_MS
  const one = (i: number): PartyId[] => [victims[i % 3]!]
  const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill & 0xff)
  const flooding = Promise.all([
    // units of sessions the victims never open
    floodKind(pacer, start, deadline, 240, one, 5 * KiB, (i) =>
      I.session({ id: randomSid(crypto), participants: [I.id, victims[i % 3]!] }).send(
        victims[i % 3]!,
        1,
        bytes(4 * KiB, i),
      ),
    ),
    // valid proposals naming every victim (16 KiB of params each)
    floodKind(
      pacer,
      start,
      deadline,
      150,
      () => victims,
      18 * KiB,
      (i) => I.propose({ protocol: 'flood/v1', params: bytes(16 * KiB, i), participants: everyone }),
    ),
    // broadcasts in the real session, each the first of its round and kind: each one kept (fewer
    // than the 1,000 unread messages at which the victims would hold the insider's stream back)
    floodKind(
      pacer,
      start,
      deadline,
      900,
      () => victims,
      3 * KiB,
      (i) => flood.broadcast(1 + (i % 30), bytes(2 * KiB, i), { kind: `k${i}` }),
    ),
    // large messages, chunked on the way, last: the third to a victim fills its inbox share, and
    // from then on the insider's stream to it waits (backpressure)
    floodKind(pacer, start + FLOOD_MS / 2, deadline, 12, one, 3 * MiB + 1 * KiB, (i) =>
      flood.send(victims[i % 3]!, 1, bytes(3 * MiB, i), { kind: 'large' }),
    ),
  ])

  // a second in, the honest parties run their session through the flood
  await sleep(1000)
  const [h1, h2, h3] = honest as [TestParty, TestParty, TestParty]
  const sumStart = Date.now()
  const s1 = await h1.party.propose({ protocol: 'secure-sum/v1', participants: victims })
  await until(
    () => [h2, h3].every((h) => h.party.proposals().some((p) => p.sessionId === s1.id)),
    10_000,
    "h1's proposal at h2 and h3",
  )
  const s2 = h2.party.join(s1.id)
  const s3 = h3.party.join(s1.id)
  await s1.started({ timeoutMs: 10_000 })
  const xs = [11, 22, 33].map((v) => v * 1_000_003)
  const others = (me: PartyId): PartyId[] => victims.filter((v) => v !== me)
  const totals = await Promise.all([s1, s2, s3].map((s, i) => secureSum(s, others(victims[i]!), xs[i]!, 8)))
  const sumMs = Date.now() - sumStart
  expect(totals).toEqual(Array(3).fill(xs.reduce((a, b) => a + b, 0) >>> 0))

  const tallies = await flooding
  const floodMs = Date.now() - start
  // the flood session's inbox filled up, so the insider's stream waits (and what it sent after,
  // unprocessed): the victims close that session, its late units are dropped without blame, and
  // everything behind them is taken in
  for (const s of held) s.close()
  await until(
    () => honest.every((h) => h.party.counters().buffers.unprocessed.bytes === 0),
    10_000,
    "the insider's waiting units processed",
  )
  console.log(
    `[flood] secure sum of ${ROUNDS} rounds took ${sumMs} ms under a ${floodMs} ms flood; insider sent (sent/refused by its own retransmit limit): ` +
      ['unknown sessions', 'proposals', 'broadcasts', 'large']
        .map((k, i) => `${k} ${tallies[i]!.sent}/${tallies[i]!.full}`)
        .join(', '),
  )

  for (const h of honest) {
    const c: CounterSnapshot = h.party.counters()
    const where = `party ${victims.indexOf(h.party.id) + 1}`
    // nobody earned a single penalty point, and nobody was cut off
    expect(c.penaltyPoints, where).toBe(0)
    expect(c.penaltyPointsByPeer, where).toEqual({})
    expect(c.drops.PEER_BANNED ?? 0, where).toBe(0)
    // what the insider did cost the honest peers nothing: none of their units was dropped
    const honestDrops = h.events.filter((e) => e.type === 'drop' && e.peer !== I.id)
    expect(honestDrops, where).toEqual([])
    // every budgeted buffer stayed within its budgets: its high-water marks say so
    expect(Object.keys(c.buffers).sort()).toEqual([
      'inbox',
      'keptBroadcasts',
      'reassembly',
      'unknownSessions',
      'unprocessed',
    ])
    for (const [name, b] of Object.entries(c.buffers)) {
      expect(b.peakBytes, `${where}: ${name}, all senders`).toBeLessThanOrEqual(b.total)
      expect(b.peakSenderBytes, `${where}: ${name}, one sender`).toBeLessThanOrEqual(b.perSender)
    }
    expect(c.buffers.inbox.total).toBe(LIMITS.inboxBytesTotal)
    // and the flood did reach them: early units and proposals over the insider's share, broadcasts
    // not kept over its share, its stream held back for inbox room, MiBs of it in the inbox and
    // in reassembly
    expect(c.drops.UNKNOWN_SESSION_OVER_CAP ?? 0, where).toBeGreaterThan(0)
    expect(c.drops.MEMORY_BUDGET_FULL ?? 0, where).toBeGreaterThan(0)
    expect(c.inboxWaits, where).toBeGreaterThan(0)
    expect(c.buffers.unknownSessions.peakSenderBytes, where).toBeGreaterThan(
      LIMITS.unknownSessionMaxBytesPerSender / 2,
    )
    expect(c.buffers.keptBroadcasts.peakSenderBytes, where).toBeGreaterThan(
      LIMITS.keptBroadcastBytesPerSender / 2,
    )
    expect(c.buffers.inbox.peakSenderBytes, where).toBeGreaterThan(3 * MiB)
    expect(c.buffers.reassembly.peakSenderBytes, where).toBeGreaterThanOrEqual(3 * MiB)
  }
  expect(tallies.every((t) => t.sent > 0)).toBe(true)
})
