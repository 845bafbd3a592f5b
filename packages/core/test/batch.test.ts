/**
 * Batches (DESIGN "Envelope"): direct envelopes that queue up for one peer are signed once over
 * their digests and travel as one unit; a lone envelope and every broadcast are signed alone.
 * The receiver checks the one signature, then every envelope as if it came alone; a forged,
 * mixed or malformed batch is refused with its code and nothing of it is delivered.
 */
import {
  generateIdentity,
  type Limits,
  type PartyId,
  partyIdToBytes,
  sessionIdToBytes,
  utf8,
} from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createNodeCrypto } from '@conclave/core/node'
import {
  BATCH_MARKER,
  type BatchItem,
  batchSignedBytes,
  COMPACT_BATCH_MARKER,
  decodeBatch,
  encodeBatch,
  encodeFullBatch,
  encodePayload,
  expandCompactBatch,
} from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, randomSid, sessionPair, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A party in a session with a raw peer that sends it crafted units. */
async function hostile(limits: Partial<Limits> = {}) {
  const crypto = createNodeCrypto()
  const net = network()
  const victim = await makeParty(net, crypto, { limits })
  stops.push(() => victim.party.stop())
  const mallory = await RawPeer.create(net, crypto)
  const sid = randomSid(crypto)
  const s = victim.party.session({ id: sid, participants: [victim.party.id, mallory.id] })
  await mallory.link(victim.party.id)
  const to = partyIdToBytes(victim.party.id)
  const sessionId = sessionIdToBytes(sid)
  const item = { fields: { sessionId }, recipient: to }
  const drops = (): Record<string, number> => victim.party.counters().drops as Record<string, number>
  return { crypto, victim, mallory, s, to, sessionId, item, drops }
}

async function pair(limits: Partial<Limits> = {}) {
  const p = await sessionPair(createNodeCrypto(), { limits, bLimits: limits })
  stops.push(p.stop)
  return p
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
    const { crypto, victim, mallory, s, to, sessionId, item, drops } = await hostile()

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

  it('compact batches on the wire: refused whole when forged or foreign, delivered when good', async () => {
    const { crypto, victim, mallory, s, to, sessionId, item, drops } = await hostile()
    const compact = { form: 'compact' as const }

    const forged = await mallory.batch([item, item], {
      ...compact,
      signed: (real) => real.map((x, i) => (i === real.length - 1 ? x ^ 1 : x)),
    })
    expect(forged[0]).toBe(COMPACT_BATCH_MARKER)
    mallory.send(victim.party.id, forged)
    await until(() => drops().ENVELOPE_BAD_SIGNATURE === 1, 3000, 'bad compact batch signature counted')

    // the header's sender is another party (one `from` for the whole compact batch)
    const other = await generateIdentity(crypto)
    const foreign = await mallory.batch(
      [
        { fields: { sessionId, from: other.key.publicKey }, recipient: to },
        { fields: { sessionId, from: other.key.publicKey }, recipient: to },
      ],
      compact,
    )
    mallory.send(victim.party.id, foreign)
    await until(() => drops().ENVELOPE_WRONG_SENDER === 1, 3000, 'foreign compact sender counted')

    // an unknown flag in the second item
    const good = await mallory.batch([item, item], compact)
    const flagAt = 68 + 1 + 32 + 16 + 4 + 5 + 8 + 8 + 4 + 3
    // the second item shares session, epoch, round and kind and follows in seq (its timestamp
    // may be a millisecond later)
    expect(good[flagAt]! & 0x1f).toBe(0x1f)
    const bad = good.slice()
    bad[flagAt] = good[flagAt]! | 0x40
    mallory.send(victim.party.id, bad)
    await until(() => drops().DECODE_UNKNOWN_TYPE === 1, 3000, 'unknown compact flag counted')

    mallory.send(
      victim.party.id,
      await mallory.batch(
        [
          { fields: { sessionId, body: utf8('x') }, recipient: to },
          { fields: { sessionId, body: utf8('y') }, recipient: to },
        ],
        compact,
      ),
    )
    expect(text(await s.receive(mallory.id as PartyId, 1))).toBe('x')
    expect(text(await s.receive(mallory.id as PartyId, 1))).toBe('y')
    expect(victim.party.counters().batchesReceived).toBeGreaterThanOrEqual(1)
  })

  it('a peer on protocol version 1 gets the full form of a batch, a version-2 peer the compact one', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const party = await makeParty(net, crypto)
    stops.push(() => party.party.stop())
    const markers = async (versions: number[] | undefined): Promise<number[]> => {
      const peer = await RawPeer.create(net, crypto)
      peer.versions = versions
      await peer.link(party.party.id)
      const sid = randomSid(crypto)
      const s = party.party.session({ id: sid, participants: [party.party.id, peer.id] })
      await Promise.all(Array.from({ length: 5 }, (_, i) => s.send(peer.id, 1, utf8(`m${i}`))))
      // one alone at once, then the other four as one batch
      await until(() => peer.received.length >= 2, 3000, 'units at the raw peer')
      const batch = peer.received.find((u) => u[0] !== 1)!
      expect(decodeBatch(batch).units.map((u) => text(u.body))).toEqual(['m1', 'm2', 'm3', 'm4'])
      return peer.received.map((u) => u[0]!)
    }
    expect(await markers([1])).toEqual([1, BATCH_MARKER])
    expect(await markers(undefined)).toEqual([1, COMPACT_BATCH_MARKER])
  })

  it('a reassembled compact batch lends its memory to the next unit; what anything delivered stays intact', async () => {
    // 8 × 20 KB: every batch is chunked over the memory link's 64 KiB frames. A compact batch's
    // envelopes are rebuilt apart, so its reassembly memory is reused; a full batch's envelopes
    // are views of it, so it is not. Nothing is read until all five arrived.
    const { victim, mallory, s, to, sessionId } = await hostile()
    const big = (tag: number) =>
      Array.from({ length: 8 }, (_, i) => ({
        fields: { sessionId, body: new Uint8Array(20_000).fill(tag + i) },
        recipient: to,
      }))
    const sent = [
      ['compact', 0],
      ['compact', 50],
      ['full', 100],
      ['full', 150],
      ['compact', 200],
    ] as const
    for (const [form, tag] of sent) mallory.send(victim.party.id, await mallory.batch(big(tag), { form }))
    await until(() => victim.party.counters().batchesReceived === 5, 5000, 'five batches in')
    for (const [, tag] of sent) {
      for (let i = 0; i < 8; i++) {
        const got = await s.receive(mallory.id as PartyId, 1)
        expect(got.length).toBe(20_000)
        expect(got.every((x) => x === tag + i)).toBe(true)
      }
    }
    expect(victim.party.counters().drops).toEqual({})
  })

  it('the rate guard charges a compact batch what its items hold once rebuilt, not its few wire bytes', async () => {
    const { victim, mallory, to, sessionId } = await hostile({
      peerBytesPerSecond: 200_000,
      peerBurstSeconds: 1,
      throttleGraceMs: 60_000,
    })
    // 1,000 empty envelopes: ~5 KB on the wire, ~0.7 MB charged
    const items = Array.from({ length: 1000 }, () => ({
      fields: { sessionId, body: new Uint8Array(0) },
      recipient: to,
    }))
    const unit = await mallory.batch(items, { form: 'compact' })
    expect(unit.length).toBeLessThan(6000)
    mallory.send(victim.party.id, unit)
    mallory.send(victim.party.id, unit)
    await until(() => victim.party.counters().throttled >= 1, 3000, 'throttled')
  })

  it('a replayed batch delivers nothing twice (each envelope is a replay)', async () => {
    const { victim, mallory, s, to, sessionId } = await hostile()
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
    const { envelopeSignedBytes } = await import('@conclave/core/wire')
    const { sha256 } = await import('@noble/hashes/sha2.js')
    for (const [i, it] of items.entries())
      digests.set(sha256(envelopeSignedBytes(it.payload, it.recipient, it.timestamp)), 32 * i)
    const signed = batchSignedBytes(digests)
    expect(text(signed.subarray(0, 18))).toBe('conclave/batch/v1\0')
    expect(new DataView(signed.buffer).getUint32(18)).toBe(3)
    const sig = await noble.ed25519.sign(key.key, signed)
    const unit = encodeFullBatch(items, sig)
    expect(unit[0]).toBe(BATCH_MARKER)
    expect((unit[1]! << 8) | unit[2]!).toBe(3)
    expect(unit.subarray(unit.length - 64)).toEqual(sig)
    // the node backend's digest and strict verify agree with noble's
    expect(node.sha256?.([signed])).toEqual(sha256(signed))
    expect(node.ed25519.verifySync).toBeTypeOf('function')
    expect(await noble.ed25519.verify(key.key.publicKey, signed, sig)).toBe(true)
    expect(() => encodeFullBatch(items.slice(0, 1), sig)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })

  describe('the compact form (0x81)', () => {
    const from = new Uint8Array(32).fill(0xaa)
    const to = new Uint8Array(32).fill(0xbb)
    const sidA = new Uint8Array(32).fill(1)
    const sidB = new Uint8Array(32).fill(2)
    const epochA = new Uint8Array(16).fill(3)
    const epochB = new Uint8Array(16).fill(4)
    const sig = new Uint8Array(64).map((_, i) => i)
    const item = (
      f: {
        sid?: Uint8Array
        epoch?: Uint8Array
        round?: number
        kind?: string
        seq: bigint
        body?: Uint8Array
      },
      timestamp = 1_700_000_000_000n,
      recipient = to,
    ): BatchItem => ({
      payload: encodePayload({
        sessionId: f.sid ?? sidA,
        round: f.round ?? 1,
        kind: f.kind ?? 'msg',
        from,
        epoch: f.epoch ?? epochA,
        seq: f.seq,
        body: f.body ?? utf8(`body ${f.seq}`),
      }),
      recipient,
      timestamp,
    })
    // every field shared, and every field changing, in one batch
    const items = [
      item({ seq: 1n }),
      item({ seq: 2n }),
      item({ seq: 3n, body: new Uint8Array(0) }),
      item({ seq: 9n }, 1_700_000_000_001n),
      item({ sid: sidB, seq: 10n, round: 2 }),
      item({ sid: sidB, epoch: epochB, seq: 0n, kind: 'κίνδυνος' }),
      item({ sid: sidB, epoch: epochB, seq: 1n, kind: 'κίνδυνος', round: 0xffffffff }),
      item({ sid: sidA, seq: (1n << 64n) - 1n, body: new Uint8Array(3000).fill(7) }, (1n << 64n) - 1n),
      item({ sid: sidA, seq: 0n }, 0n),
    ]

    it('carries exactly the envelopes of the full form, in fewer bytes', () => {
      const compact = encodeBatch(items, sig)
      const full = encodeFullBatch(items, sig)
      expect(compact[0]).toBe(COMPACT_BATCH_MARKER)
      expect((compact[1]! << 8) | compact[2]!).toBe(items.length)
      expect(expandCompactBatch(compact)).toEqual(full)
      const a = decodeBatch(compact)
      const b = decodeBatch(full)
      expect(a.items).toEqual(b.items)
      expect(a.units).toEqual(b.units)
      expect(a.signature).toEqual(sig)
      // 68 bytes of header for 32 + 32 + 1 once; each item then saves its from, recipient and
      // whatever it shares with the one before
      expect(compact.length).toBeLessThan(full.length - items.length * 68 + 65)
      // 256 B bodies of one stream: 5 bytes an item beside the body, against 146
      const stream = Array.from({ length: 200 }, (_, i) =>
        item({ seq: BigInt(i), body: new Uint8Array(256) }),
      )
      expect(encodeBatch(stream, sig).length).toBe(68 + 64 + 78 + 256 + 199 * (5 + 256))
      expect(encodeFullBatch(stream, sig).length).toBe(3 + 64 + 200 * (143 + 3 + 256))
    })

    it('its encoder refuses envelopes from two senders, to two recipients, or not payloads', () => {
      const other = new Uint8Array(32).fill(0xcc)
      expect(() => encodeBatch([item({ seq: 1n }), item({ seq: 2n }, 1n, other)], sig)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
      const foreign = { ...item({ seq: 2n }) }
      foreign.payload = foreign.payload.slice()
      foreign.payload.set(other, 39 + 3)
      expect(() => encodeBatch([item({ seq: 1n }), foreign], sig)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
      const garbage = { ...item({ seq: 2n }), payload: new Uint8Array([1, 2, 3]) }
      expect(() => encodeBatch([item({ seq: 1n }), garbage], sig)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
      expect(() => encodeBatch([item({ seq: 1n })], sig)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
    })

    it('its decoder refuses malformed input with a code', () => {
      const good = encodeBatch(items.slice(0, 3), sig)
      const at = 68 // the first item's flags
      const second = 68 + 1 + 32 + 16 + 4 + 5 + 8 + 8 + 4 + 6 // after the first item ("body 1")
      const cases: [string, Uint8Array, string][] = [
        ['truncated', good.subarray(0, good.length - 1), 'DECODE_SHORT_INPUT'],
        ['header only', good.subarray(0, 60), 'DECODE_SHORT_INPUT'],
        [
          'trailing byte',
          Uint8Array.from([...good.subarray(0, good.length - 64), 0, ...sig]),
          'DECODE_TRAILING_BYTES',
        ],
        ['count 1', Uint8Array.from(good).fill(1, 2, 3).fill(0, 1, 2), 'DECODE_BAD_LENGTH'],
        ['envelope version 2', Uint8Array.from(good).fill(2, 3, 4), 'DECODE_UNKNOWN_VERSION'],
        ['first item refers back', Uint8Array.from(good).fill(0x01, at, at + 1), 'DECODE_UNKNOWN_TYPE'],
        [
          'unknown flag',
          Uint8Array.from(good).fill(good[second]! | 0x40, second, second + 1),
          'DECODE_UNKNOWN_TYPE',
        ],
      ]
      expect(good[second]).toBe(0x3f) // the second item shares everything
      for (const [what, bytes, code] of cases) {
        expect(() => decodeBatch(bytes), what).toThrow(expect.objectContaining({ code }))
      }
      // seq = previous + 1 past 2^64 - 1: the second item's explicit seq 0 replaced by the flag
      const last = encodeBatch([item({ seq: (1n << 64n) - 1n }), item({ seq: 0n })], sig)
      const second2 = 68 + 1 + 32 + 16 + 4 + 5 + 8 + 8 + 4 + 25 // "body 18446744073709551615"
      expect(last[second2]).toBe(0x2f)
      expect(decodeBatch(last).units[1]!.seq).toBe(0n)
      const wrapped = Uint8Array.from([...last.subarray(0, second2), 0x3f, ...last.subarray(second2 + 9)])
      expect(() => decodeBatch(wrapped)).toThrow(expect.objectContaining({ code: 'DECODE_BAD_LENGTH' }))
      // a body over the cap
      expect(() => decodeBatch(encodeBatch(items.slice(7, 9), sig), 100)).toThrow(
        expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }),
      )
    })
  })

  it("node's sha256Into writes noble's digest at the offset, for parts below and above its scratch size", async () => {
    const node = createNodeCrypto()
    const { sha256 } = await import('@noble/hashes/sha2.js')
    const into = node.sha256Into
    expect(into).toBeTypeOf('function')
    for (const sizes of [[0], [16, 300], [1, 2, 3, 4], [16 * 1024], [16 * 1024 - 16, 16, 1], [70_000, 5]]) {
      const parts = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + k * 7 + n) & 255))
      const whole = new Uint8Array(sizes.reduce((a, b) => a + b, 0))
      let at = 0
      for (const p of parts) {
        whole.set(p, at)
        at += p.length
      }
      const out = new Uint8Array(100).fill(0xee)
      into!(parts, out, 37)
      expect(out.subarray(37, 69)).toEqual(sha256(whole))
      // nothing outside the 32 bytes is touched
      expect(out.subarray(0, 37).every((b) => b === 0xee)).toBe(true)
      expect(out.subarray(69).every((b) => b === 0xee)).toBe(true)
      expect(node.sha256?.(parts)).toEqual(sha256(whole))
    }
  })
})
