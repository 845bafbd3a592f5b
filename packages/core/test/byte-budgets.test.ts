/**
 * Memory caps are bytes, per sender first and in total second (issue #16, item 9): every buffer
 * that holds bytes from peers has a byte budget, charged when bytes come in and released when
 * they are consumed or dropped; what happens at each cap is defined (the sender waits, or its
 * unit is sent again on a new link, or it is dropped without blame), never a penalty; the
 * counters show each buffer's high-water marks; the limits are checked with coded errors.
 */
import {
  ConclaveError,
  type CounterSnapshot,
  type CryptoBackend,
  DEFAULT_LIMITS,
  generateIdentity,
  type PartyId,
  partyIdToBytes,
  resolveLimits,
  sessionIdToBytes,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import {
  BROADCAST_RECIPIENT,
  deriveSessionId,
  encodeProposal,
  equalBytes,
  RecordType,
} from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, sidBytes, type TestParty, until } from './helpers.ts'

const KiB = 1024
const MiB = 1024 * KiB
/** What a budget charges per entry beside its bytes (`ENTRY_CHARGE`). */
const ENTRY = 512

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

async function party(
  net: ReturnType<typeof network>,
  crypto: CryptoBackend,
  limits = {},
): Promise<TestParty> {
  const p = await makeParty(net, crypto, { limits })
  stops.push(() => p.party.stop())
  return p
}

async function raw(net: ReturnType<typeof network>, crypto: CryptoBackend, to: PartyId): Promise<RawPeer> {
  const m = await RawPeer.create(net, crypto)
  await m.link(to)
  return m
}

const dropped = (p: TestParty, code: string): number =>
  (p.party.counters().drops as Record<string, number>)[code] ?? 0

/** Byte equality (vitest's deep equality takes seconds on a MiB). */
const same = (x: Uint8Array, y: Uint8Array): boolean => equalBytes(x, y)

const buffers = (p: TestParty): CounterSnapshot['buffers'] => p.party.counters().buffers

/** Nobody was weighed or cut off. */
function noBlame(p: TestParty): void {
  const c = p.party.counters()
  expect(c.penaltyPoints).toBe(0)
  expect(c.penaltyPointsByPeer).toEqual({})
  expect(c.drops.PEER_BANNED ?? 0).toBe(0)
}

describe('resolveLimits', () => {
  it('refuses an unknown limit or a bad value with INVALID_ARGUMENT, not a bare TypeError', () => {
    for (const bad of [
      { noSuchLimit: 1 },
      { inboxBytesTotal: -1 },
      { maxReassemblyBytesTotal: Number.NaN },
    ]) {
      let caught: unknown
      try {
        resolveLimits(bad as never)
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(ConclaveError)
      expect(caught).toMatchObject({ code: 'INVALID_ARGUMENT' })
    }
  })

  it("refuses a sender's share over its total, and an inbox share smaller than the largest message (LIMIT_INCONSISTENT)", () => {
    const cases: [object, string[]][] = [
      [{ inboxBytesPerSender: 256 * MiB }, ['inboxBytesPerSender', 'inboxBytesTotal']],
      [{ keptBroadcastBytesTotal: 1 * MiB }, ['keptBroadcastBytesPerSender', 'keptBroadcastBytesTotal']],
      [{ unknownSessionMaxBytes: 1 * MiB }, ['unknownSessionMaxBytesPerSender', 'unknownSessionMaxBytes']],
      [{ maxReassemblyBytesTotal: 1 * MiB }, ['maxReassemblyBytes', 'maxReassemblyBytesTotal']],
      [{ maxUnprocessedBytesTotal: 1 * MiB }, ['maxUnprocessedBytesPerPeer', 'maxUnprocessedBytesTotal']],
      [{ inboxBytesPerSender: 8 * MiB }, ['inboxBytesPerSender', 'maxMessageBytes']],
    ]
    for (const [limits, names] of cases)
      expect(() => resolveLimits(limits)).toThrowError(
        expect.objectContaining({ code: 'LIMIT_INCONSISTENT', details: { limits: names } }),
      )
    // both set together is fine
    expect(
      resolveLimits({ maxMessageBytes: 1 * MiB, inboxBytesPerSender: 1 * MiB, inboxBytesTotal: 2 * MiB }),
    ).toMatchObject({ inboxBytesPerSender: 1 * MiB })
  })

  it('gives every buffer a byte budget per sender and in total', () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      maxReassemblyBytes: 16 * MiB + 1 * KiB,
      maxReassemblyBytesTotal: 64 * MiB,
      maxUnprocessedBytesPerPeer: 65 * MiB,
      maxUnprocessedBytesTotal: 128 * MiB,
      unknownSessionMaxBytesPerSender: 8 * MiB,
      unknownSessionMaxBytes: 64 * MiB,
      inboxBytesPerSender: 64 * MiB,
      inboxBytesTotal: 128 * MiB,
      keptBroadcastBytesPerSender: 32 * MiB,
      keptBroadcastBytesTotal: 64 * MiB,
    })
  })
})

describe('the inbox, in bytes', () => {
  it('a sender past its byte share waits (backpressure) before its message count is near, and nothing is lost', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await party(net, crypto, { maxMessageBytes: 64 * KiB, inboxBytesPerSender: 150 * KiB })
    const b = await party(net, crypto)
    const sid = randomSid(crypto)
    const ids = [a.party.id, b.party.id]
    const sa = a.party.session({ id: sid, participants: ids })
    const sb = b.party.session({ id: sid, participants: ids })
    const body = (i: number): Uint8Array => new Uint8Array(60 * KiB).fill(i)
    for (let i = 0; i < 5; i++) await sb.send(a.party.id, 1, body(i))
    await until(
      () => a.events.some((e) => e.type === 'backpressure' && e.peer === b.party.id),
      5000,
      'backpressure',
    )
    // two bodies fit the 150 KiB share, the third waits (the message cap, 1,000, is far away)
    expect(buffers(a).inbox.bytes).toBe(120 * KiB)
    for (let i = 0; i < 5; i++) expect(same(await sa.receive(b.party.id, 1), body(i))).toBe(true)
    expect(buffers(a).inbox).toMatchObject({ bytes: 0, peakSenderBytes: 120 * KiB, perSender: 150 * KiB })
    expect(a.party.counters().drops).toEqual({})
    noBlame(a)
  })

  it("all senders together stay within the total: a sender under its share waits for another's message to be taken", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const limits = { maxMessageBytes: 40 * KiB, inboxBytesPerSender: 100 * KiB, inboxBytesTotal: 120 * KiB }
    const a = await party(net, crypto, limits)
    const b = await party(net, crypto)
    const c = await party(net, crypto)
    const sid = randomSid(crypto)
    const ids = [a.party.id, b.party.id, c.party.id]
    const sa = a.party.session({ id: sid, participants: ids })
    const sb = b.party.session({ id: sid, participants: ids })
    const sc = c.party.session({ id: sid, participants: ids })
    const body = (i: number): Uint8Array => new Uint8Array(40 * KiB).fill(i)
    await sb.send(a.party.id, 1, body(1))
    await sb.send(a.party.id, 1, body(2))
    await until(() => buffers(a).inbox.bytes === 80 * KiB, 5000, "b's two bodies held")
    await sc.send(a.party.id, 1, body(3))
    await sc.send(a.party.id, 1, body(4))
    await until(
      () => a.events.some((e) => e.type === 'backpressure' && e.peer === c.party.id),
      5000,
      'c waits',
    )
    // c holds 40 KiB of its 100 KiB share: what stops its second body is the 120 KiB total
    expect(buffers(a).inbox.bytes).toBe(120 * KiB)
    expect(same(await sa.receive(b.party.id, 1), body(1))).toBe(true)
    expect(same(await sa.receive(c.party.id, 1), body(3))).toBe(true)
    expect(same(await sa.receive(c.party.id, 1), body(4))).toBe(true)
    expect(same(await sa.receive(b.party.id, 1), body(2))).toBe(true)
    expect(buffers(a).inbox).toMatchObject({ bytes: 0, peakBytes: 120 * KiB, total: 120 * KiB })
    noBlame(a)
  })
})

describe('broadcast units kept for the echo step', () => {
  it("a sender's kept units stay within its share: past it a broadcast is delivered but not kept (no penalty), a consistent collect of its round aborts, and the session's end frees them", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    // a 1 KiB broadcast's unit is about 1.2 KiB on the wire, charged 0.5 KiB more: two fit 4 KiB
    const a = await party(net, crypto, { keptBroadcastBytesPerSender: 4 * KiB })
    const b = await party(net, crypto)
    const sid = randomSid(crypto)
    const ids = [a.party.id, b.party.id]
    const sa = a.party.session({ id: sid, participants: ids })
    const sb = b.party.session({ id: sid, participants: ids })
    for (let round = 1; round <= 4; round++) await sb.broadcast(round, new Uint8Array(KiB).fill(round))
    await until(() => dropped(a, 'MEMORY_BUDGET_FULL') === 2, 5000, 'two not kept')
    // delivered all the same
    for (let round = 1; round <= 3; round++)
      expect(await sa.receive(b.party.id, round, { broadcast: true })).toEqual(
        new Uint8Array(KiB).fill(round),
      )
    expect(a.events.filter((e) => e.type === 'drop' && e.code === 'MEMORY_BUDGET_FULL')).toMatchObject([
      { peer: b.party.id, sessionId: sid },
      { peer: b.party.id, sessionId: sid },
    ])
    const kept = buffers(a).keptBroadcasts
    expect(kept.peakSenderBytes).toBeLessThanOrEqual(4 * KiB)
    expect(kept.bytes).toBeGreaterThan(2 * (KiB + ENTRY))
    noBlame(a)
    // round 4's unit was not kept: its echo cannot be made, and the session aborts, blaming no one
    await sa.broadcast(4, new Uint8Array([4]))
    await expect(sa.collect(4, { broadcast: true, consistent: true })).rejects.toMatchObject({
      code: 'SESSION_ABORTED',
      details: { peer: b.party.id, code: 'MEMORY_BUDGET_FULL' },
    })
    expect(buffers(a).keptBroadcasts.bytes).toBe(0)
    expect(buffers(a).inbox.bytes).toBe(0)
    noBlame(a)
  })
})

describe('reassembly, all peers together', () => {
  it('a chunked unit past the total closes its link without penalty, and comes again on the next link once there is room', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const limits = {
      maxMessageBytes: 1 * MiB,
      maxReassemblyBytes: 1 * MiB + 1 * KiB,
      maxReassemblyBytesTotal: 1.5 * MiB,
    }
    const a = await party(net, crypto, limits)
    const b = await party(net, crypto)
    // mallory starts a 1 MiB unit and stalls: it holds 1 MiB of the 1.5 MiB
    const m = await raw(net, crypto, a.party.id)
    m.sendRecord(a.party.id, {
      type: RecordType.chunk,
      messageId: 0,
      total: 1 * MiB,
      offset: 0,
      data: new Uint8Array(KiB),
    })
    await until(() => a.host.reassemblyBytes(m.id) === 1 * MiB, 5000, "mallory's unit in progress")
    const sid = randomSid(crypto)
    const ids = [a.party.id, b.party.id]
    const sa = a.party.session({ id: sid, participants: ids })
    const sb = b.party.session({ id: sid, participants: ids })
    const big = new Uint8Array(900 * KiB).fill(9)
    await sb.send(a.party.id, 1, big)
    await until(() => dropped(a, 'MEMORY_BUDGET_FULL') > 0, 5000, "b's link closed")
    expect(a.events.find((e) => e.type === 'drop' && e.code === 'MEMORY_BUDGET_FULL')).toMatchObject({
      peer: b.party.id,
    })
    expect(buffers(a).reassembly.peakBytes).toBeLessThanOrEqual(1.5 * MiB)
    // mallory's link goes: its bytes are given back, and b's unit (never acknowledged) gets through
    m.channels.get(a.party.id)!.close('LINK_CLOSED', 'done')
    expect(same(await sa.receive(b.party.id, 1, { timeoutMs: 10_000 }), big)).toBe(true)
    expect(buffers(a).reassembly).toMatchObject({ bytes: 0, total: 1.5 * MiB })
    expect(buffers(a).reassembly.peakBytes).toBeLessThanOrEqual(1.5 * MiB)
    noBlame(a)
  })
})

describe('units waiting to be processed, all peers together', () => {
  it("past the total a peer's link closes without penalty, before its unit is numbered, and no one is cut off", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a0 = await RawPeer.create(net, crypto) // only to measure a unit on the wire
    const wire = (
      await a0.unit({ sessionId: new Uint8Array(32), body: new Uint8Array(KiB) }, new Uint8Array(32))
    ).length
    // each peer may have 10 units waiting, all peers together 15
    const a = await party(net, crypto, {
      inboxPerSender: 1,
      maxUnprocessedBytesPerPeer: 10 * wire,
      maxUnprocessedBytesTotal: 15 * wire,
    })
    const m1 = await raw(net, crypto, a.party.id)
    const m2 = await raw(net, crypto, a.party.id)
    const sid = randomSid(crypto)
    a.party.session({ id: sid, participants: [a.party.id, m1.id, m2.id] })
    const to = partyIdToBytes(a.party.id)
    // the inbox takes one unit of each; what follows waits on its sender's chain
    for (const m of [m1, m2])
      for (let i = 0; i < 9; i++)
        m.send(a.party.id, await m.unit({ sessionId: sidBytes(sid), body: new Uint8Array(KiB) }, to))
    await until(() => m2.closes.length > 0, 5000, "m2's link closed")
    expect(m2.closes[0]!.code).toBe('MEMORY_BUDGET_FULL')
    expect(m1.closes).toEqual([])
    expect(buffers(a).unprocessed.peakBytes).toBeLessThanOrEqual(15 * wire)
    expect(buffers(a).unprocessed.peakSenderBytes).toBeLessThanOrEqual(10 * wire)
    noBlame(a)
  })
})

describe('sessions not opened here, in bytes', () => {
  it("early units of all senders together stay within the total: past it they are dropped without blame, though the sender's share has room", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await party(net, crypto, {
      unknownSessionMaxBytesPerSender: 8 * KiB,
      unknownSessionMaxBytes: 12 * KiB,
    })
    const m1 = await raw(net, crypto, a.party.id)
    const m2 = await raw(net, crypto, a.party.id)
    const to = partyIdToBytes(a.party.id)
    const early = (m: RawPeer) =>
      m.unit({ sessionId: sidBytes(randomSid(crypto)), body: new Uint8Array(KiB) }, to)
    const per = (await early(m1)).length + ENTRY
    // m1 fills 7 KiB-ish of its 8 KiB share; m2 then finds the 12 KiB total full before its own share
    for (let i = 0; i < Math.floor((8 * KiB) / per); i++) m1.send(a.party.id, await early(m1))
    await until(
      () => a.host.unknownSessionUsage(m1.id).sessions === Math.floor((8 * KiB) / per),
      5000,
      'm1 held',
    )
    for (let i = 0; i < 6; i++) m2.send(a.party.id, await early(m2))
    await until(() => dropped(a, 'UNKNOWN_SESSION_OVER_CAP') > 0, 5000, 'over the total')
    const usage = buffers(a).unknownSessions
    expect(usage.peakBytes).toBeLessThanOrEqual(12 * KiB)
    expect(a.host.unknownSessionUsage(m2.id).bytes + per).toBeLessThan(8 * KiB)
    noBlame(a)
  })

  it("pending proposals are charged the proposer's byte share: large ones are dropped without blame long before the count cap", async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await party(net, crypto, { unknownSessionMaxBytesPerSender: 100 * KiB })
    const m = await raw(net, crypto, a.party.id)
    for (let i = 0; i < 4; i++) {
      const input = {
        protocol: 'big-params',
        params: new Uint8Array(30 * KiB).fill(i),
        participants: [m.id, a.party.id],
        proposer: m.id,
        nonce: crypto.randomBytes(32),
      }
      const sessionId = sessionIdToBytes(deriveSessionId(input))
      m.send(
        a.party.id,
        await m.unit(
          { sessionId, round: 0, kind: 'proposal', body: encodeProposal(input) },
          BROADCAST_RECIPIENT,
        ),
      )
    }
    await until(() => dropped(a, 'UNKNOWN_SESSION_OVER_CAP') === 3, 5000, 'three dropped')
    // each keeps ~61 KiB (its 30 KiB preimage twice over): one fits the 100 KiB share
    expect(a.party.proposals()).toHaveLength(1)
    expect(buffers(a).unknownSessions.peakSenderBytes).toBeLessThanOrEqual(100 * KiB)
    noBlame(a)
  })
})

describe('penalty points in the counters', () => {
  it('every point given is counted, in total and per peer', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await party(net, crypto)
    const m = await raw(net, crypto, a.party.id)
    const other = (await generateIdentity(crypto)).key
    m.send(
      a.party.id,
      await m.unit({ sessionId: sidBytes(randomSid(crypto)) }, partyIdToBytes(a.party.id), { signer: other }),
    )
    await until(() => dropped(a, 'ENVELOPE_BAD_SIGNATURE') === 1, 5000, 'refused')
    expect(a.party.counters()).toMatchObject({ penaltyPoints: 20, penaltyPointsByPeer: { [m.id]: 20 } })
  })
})
