/**
 * Batches (DESIGN "Envelope"): direct envelopes that queue up for one peer are signed once over
 * their digests and travel as one unit; a lone envelope and every broadcast are signed alone.
 * The receiver checks the one signature, then every envelope as if it came alone; a forged,
 * mixed or malformed batch is refused with its code and nothing of it is delivered.
 */
import {
  BATCH_MARKER,
  batchSignedBytes,
  createNobleBackend,
  decodeBatch,
  encodeBatch,
  generateIdentity,
  type Limits,
  type PartyId,
  partyIdToBytes,
  sessionIdToBytes,
  utf8,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

async function pair(limits: Partial<Limits> = {}) {
  const crypto = createNodeCrypto()
  const net = network()
  const a = await makeParty(net, crypto, { limits })
  const b = await makeParty(net, crypto, { limits })
  stops.push(
    () => a.party.stop(),
    () => b.party.stop(),
  )
  const sid = randomSid(crypto)
  const participants = [a.party.id, b.party.id]
  const sa = a.party.session({ id: sid, participants })
  const sb = b.party.session({ id: sid, participants })
  return { a, b, sa, sb }
}

describe('batches', () => {
  it('sends that queue up travel as batches, and arrive all, once, in order', async () => {
    const { a, b, sa, sb } = await pair()
    const n = 600
    await Promise.all(Array.from({ length: n }, (_, i) => sa.send(b.party.id, 1, utf8(`m${i}`))))
    for (let i = 0; i < n; i++) expect(text(await sb.receive(a.party.id, 1))).toBe(`m${i}`)
    const sent = a.party.counters()
    // 600 envelopes in one turn: the first alone at once, then 3 batches of at most 256
    expect(sent.batchesSent).toBe(3)
    expect(sent.byTransport.memory?.messagesSent).toBe(n)
    const got = b.party.counters()
    expect(got.batchesReceived).toBe(3)
    expect(got.byTransport.memory?.messagesReceived).toBe(n)
    expect(got.drops).toEqual({})
  })

  it('a batch also closes before its unit outgrows maxMessageBytes (with its framing)', async () => {
    // 1 MiB of payload would be allowed by maxBatchBytes; the unit cap (4 KiB + 1 KiB) is not
    const { a, b, sa, sb } = await pair({ maxMessageBytes: 4096 })
    const n = 40
    const body = (i: number) => new Uint8Array(1000).fill(i)
    await Promise.all(Array.from({ length: n }, (_, i) => sa.send(b.party.id, 1, body(i))))
    for (let i = 0; i < n; i++) expect(await sb.receive(a.party.id, 1)).toEqual(body(i))
    const sent = a.party.counters()
    // the first alone, then 39 in batches of at most 4 (3 + 4 × (44 + ~1.1 KiB) + 64 ≤ 5 KiB)
    expect(sent.batchesSent).toBeGreaterThanOrEqual(10)
    expect(sent.drops).toEqual({})
    expect(b.party.counters().drops).toEqual({})
    expect(sent.byTransport.memory?.messagesSent).toBe(n)
  })

  it('what a batch delivers, or holds for a session not open yet, does not keep the batch alive', async () => {
    const { a, b, sa, sb } = await pair()
    const crypto = createNodeCrypto()
    const later = randomSid(crypto)
    const participants = [a.party.id, b.party.id]
    const sLater = a.party.session({ id: later, participants })
    await a.party.waitForPeers([b.party.id])
    const body = (i: number) => new Uint8Array(8 * 1024).fill(i)
    // one turn: one alone, then a batch of ~8 KiB × 63 for the open session and one for the other
    await Promise.all([
      ...Array.from({ length: 64 }, (_, i) => sa.send(b.party.id, 1, body(i))),
      ...Array.from({ length: 64 }, (_, i) => sLater.send(b.party.id, 1, body(i))),
    ])
    expect(a.party.counters().batchesSent).toBeGreaterThanOrEqual(1)
    for (let i = 0; i < 64; i++) {
      const got = await sb.receive(a.party.id, 1)
      expect(got).toEqual(body(i))
      expect(got.buffer.byteLength).toBeLessThan(16 * 1024)
    }
    await until(() => b.party.counters().byTransport.memory?.messagesReceived === 128, 5000, 'all arrived')
    const sbLater = b.party.session({ id: later, participants })
    for (let i = 0; i < 64; i++) {
      const got = await sbLater.receive(a.party.id, 1)
      expect(got).toEqual(body(i))
      expect(got.buffer.byteLength).toBeLessThan(16 * 1024)
    }
  })

  it('a lone send is signed alone, and maxBatchUnits: 1 turns batching off', async () => {
    const one = await pair()
    await one.sa.send(one.b.party.id, 1, utf8('alone'))
    expect(text(await one.sb.receive(one.a.party.id, 1))).toBe('alone')
    expect(one.a.party.counters().batchesSent).toBe(0)

    const off = await pair({ maxBatchUnits: 1 })
    await Promise.all(Array.from({ length: 50 }, (_, i) => off.sa.send(off.b.party.id, 1, utf8(`m${i}`))))
    for (let i = 0; i < 50; i++) expect(text(await off.sb.receive(off.a.party.id, 1))).toBe(`m${i}`)
    expect(off.a.party.counters().batchesSent).toBe(0)
  })

  it('broadcasts are never batched, and keep their order with the direct sends around them', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const parties = await Promise.all([0, 1, 2].map(() => makeParty(net, crypto)))
    for (const p of parties) stops.push(() => p.party.stop())
    const [a, b, c] = parties as [(typeof parties)[0], (typeof parties)[0], (typeof parties)[0]]
    const sid = randomSid(crypto)
    const participants = parties.map((p) => p.party.id)
    const [sa, sb] = parties.map((p) => p.party.session({ id: sid, participants }))
    // direct, direct, broadcast, direct, direct in one turn; the broadcast is a separate kind
    const sends = [
      sa!.send(b.party.id, 1, utf8('d0')),
      sa!.send(b.party.id, 1, utf8('d1')),
      sa!.broadcast(1, utf8('all'), { kind: 'note' }),
      sa!.send(b.party.id, 1, utf8('d2')),
      sa!.send(b.party.id, 1, utf8('d3')),
    ]
    await Promise.all(sends)
    for (const m of ['d0', 'd1', 'd2', 'd3']) expect(text(await sb!.receive(a.party.id, 1))).toBe(m)
    expect(text(await sb!.receive(a.party.id, 1, { broadcast: true, kind: 'note' }))).toBe('all')
    // d0 went alone at once (the first send of the turn), d1 alone before the broadcast, the
    // broadcast alone to b and to c, and d2 + d3 as one batch
    expect(a.party.counters().batchesSent).toBe(1)
    expect(c.party.counters().batchesReceived).toBe(0)
  })

  it('a whole-batch refusal: forged signature, broadcast inside, foreign sender, wrong count', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const victim = await makeParty(net, crypto)
    stops.push(() => victim.party.stop())
    const mallory = await RawPeer.create(net, crypto)
    const sid = randomSid(crypto)
    const s = victim.party.session({ id: sid, participants: [victim.party.id, mallory.id] })
    await mallory.link(victim.party.id)
    const to = partyIdToBytes(victim.party.id)
    const sessionId = sessionIdToBytes(sid)
    const item = { fields: { sessionId }, recipient: to }
    const drops = (): Record<string, number> => victim.party.counters().drops as Record<string, number>

    // 1. signed over other digests (an item swapped after signing)
    mallory.send(
      victim.party.id,
      await mallory.batch([item, item], {
        signed: (real) => real.map((x, i) => (i === real.length - 1 ? x ^ 1 : x)),
      }),
    )
    await until(() => drops().ENVELOPE_BAD_SIGNATURE === 1, 3000, 'bad batch signature counted')

    // 2. a broadcast inside a batch
    mallory.send(
      victim.party.id,
      await mallory.batch([item, { fields: { sessionId }, recipient: new Uint8Array(32) }]),
    )
    await until(() => drops().ENVELOPE_WRONG_RECIPIENT === 1, 3000, 'broadcast in a batch counted')

    // 3. an envelope of another sender inside mallory's batch
    const other = await generateIdentity(crypto)
    mallory.send(
      victim.party.id,
      await mallory.batch([item, { fields: { sessionId, from: other.key.publicKey }, recipient: to }]),
    )
    await until(() => drops().ENVELOPE_WRONG_SENDER === 1, 3000, 'foreign sender counted')

    // 4. a batch of one (never made: a lone envelope is signed alone)
    const two = await mallory.batch([item, item])
    const one = decodeBatch(two)
    const single = new Uint8Array(two.length)
    single.set(two)
    single[2] = 1 // count 1, the rest is then trailing bytes
    mallory.send(victim.party.id, single)
    await until(() => drops().DECODE_BAD_LENGTH === 1, 3000, 'batch of one counted')
    expect(one.units).toHaveLength(2)

    // nothing of those was delivered; a good batch still is
    mallory.send(
      victim.party.id,
      await mallory.batch([
        { fields: { sessionId, body: utf8('x') }, recipient: to },
        { fields: { sessionId, body: utf8('y') }, recipient: to },
      ]),
    )
    expect(text(await s.receive(mallory.id as PartyId, 1))).toBe('x')
    expect(text(await s.receive(mallory.id as PartyId, 1))).toBe('y')
  })

  it('a replayed batch delivers nothing twice (each envelope is a replay)', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const victim = await makeParty(net, crypto)
    stops.push(() => victim.party.stop())
    const mallory = await RawPeer.create(net, crypto)
    const sid = randomSid(crypto)
    const s = victim.party.session({ id: sid, participants: [victim.party.id, mallory.id] })
    await mallory.link(victim.party.id)
    const to = partyIdToBytes(victim.party.id)
    const sessionId = sessionIdToBytes(sid)
    const batch = await mallory.batch([
      { fields: { sessionId, body: utf8('p') }, recipient: to },
      { fields: { sessionId, body: utf8('q') }, recipient: to },
    ])
    mallory.send(victim.party.id, batch)
    mallory.send(victim.party.id, batch)
    expect(text(await s.receive(mallory.id as PartyId, 1))).toBe('p')
    expect(text(await s.receive(mallory.id as PartyId, 1))).toBe('q')
    await until(() => (victim.party.counters().drops.ENVELOPE_REPLAY ?? 0) === 2, 3000, 'replays counted')
    await expect(s.receive(mallory.id as PartyId, 1, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'ROUND_TIMEOUT',
    })
  })

  it('the wire format: marker, count, items, one signature over the digests (noble and node agree)', async () => {
    const node = createNodeCrypto()
    const noble = createNobleBackend()
    const key = await generateIdentity(noble, { extractable: true })
    const items = [0, 1, 2].map((i) => ({
      payload: new Uint8Array([1, ...new Array(10).fill(i)]),
      recipient: new Uint8Array(32).fill(9),
      timestamp: BigInt(1_700_000_000_000 + i),
    }))
    const digests = new Uint8Array(96)
    const { envelopeSignedBytes } = await import('@conclave/core')
    const { sha256 } = await import('@noble/hashes/sha2.js')
    for (const [i, it] of items.entries())
      digests.set(sha256(envelopeSignedBytes(it.payload, it.recipient, it.timestamp)), 32 * i)
    const signed = batchSignedBytes(digests)
    expect(text(signed.subarray(0, 18))).toBe('conclave/batch/v1\0')
    expect(new DataView(signed.buffer).getUint32(18)).toBe(3)
    const sig = await noble.ed25519.sign(key.key, signed)
    const unit = encodeBatch(items, sig)
    expect(unit[0]).toBe(BATCH_MARKER)
    expect((unit[1]! << 8) | unit[2]!).toBe(3)
    expect(unit.subarray(unit.length - 64)).toEqual(sig)
    // the node backend's digest and strict verify agree with noble's
    expect(node.sha256?.([signed])).toEqual(sha256(signed))
    expect(node.ed25519.verifySync).toBeTypeOf('function')
    expect(await noble.ed25519.verify(key.key.publicKey, signed, sig)).toBe(true)
    expect(() => encodeBatch(items.slice(0, 1), sig)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})
