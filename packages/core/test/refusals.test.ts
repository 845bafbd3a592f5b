/**
 * Every bad input is refused with its code, counted and reported, and the session goes on.
 */
import { type CryptoBackend, generateIdentity, partyIdToBytes, type SessionId } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createNodeCrypto } from '@conclave/core/node'
import { BROADCAST_RECIPIENT, RecordType } from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import {
  makeParty,
  network,
  RawPeer,
  randomSid,
  sessionPair,
  sidBytes,
  type TestParty,
  until,
} from './helpers.ts'

const L = 2n ** 252n + 27742317777372353535851937790883648493n

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

/** These tests count refusals one by one, so the penalty that would cut the attacker off is out of reach. */
const PATIENT = { penaltyThreshold: 1_000_000 }

async function setup(crypto: CryptoBackend, limits = {}) {
  const net = network()
  const a = await makeParty(net, crypto, { limits: { ...PATIENT, ...limits } })
  const c = await makeParty(net, crypto)
  const m = await RawPeer.create(net, crypto)
  stops.push(
    () => a.party.stop(),
    () => c.party.stop(),
  )
  const sid = randomSid(crypto)
  const participants = [a.party.id, c.party.id, m.id]
  const sa = a.party.session({ id: sid, participants })
  const sc = c.party.session({ id: sid, participants })
  await m.link(a.party.id)
  return { net, a, c, m, sid, sa, sc, participants }
}

function dropped(p: TestParty, code: string): number {
  return (p.party.counters().drops as Record<string, number>)[code] ?? 0
}

async function expectRefused(p: TestParty, code: string, n = 1): Promise<void> {
  await until(() => dropped(p, code) >= n, 5000, `${code} counted`)
  expect(dropped(p, code)).toBe(n)
  expect(p.events.some((e) => e.type === 'drop' && e.code === code)).toBe(true)
}

for (const [name, makeCrypto] of [
  ['noble', () => createNobleBackend()],
  ['webcrypto+node:crypto', () => createNodeCrypto()],
] as const) {
  describe(`refusals (${name})`, () => {
    it('refuses each bad envelope with its code, counts it, and the session goes on', async () => {
      const crypto: CryptoBackend = makeCrypto()
      const { a, m, sid, sa } = await setup(crypto)
      const to = partyIdToBytes(a.party.id)
      const sidB = sidBytes(sid)
      const cases: [string, () => Promise<Uint8Array>][] = [
        [
          'ENVELOPE_BAD_SIGNATURE', // tampered body
          async () => {
            const u = await m.unit({ sessionId: sidB, body: new Uint8Array([9, 9, 9]) }, to)
            const bodyAt = u.length - 104 - 3
            u[bodyAt] = u[bodyAt]! ^ 1
            return u
          },
        ],
        [
          'ENVELOPE_BAD_SIGNATURE', // tampered signature
          async () => {
            const u = await m.unit({ sessionId: sidB }, to)
            u[u.length - 1] = u[u.length - 1]! ^ 0x80
            return u
          },
        ],
        ['ENVELOPE_WRONG_RECIPIENT', () => m.unit({ sessionId: sidB }, new Uint8Array(32).fill(5))],
        ['ENVELOPE_STALE', () => m.unit({ sessionId: sidB }, to, { timestamp: BigInt(Date.now() - 60_000) })],
        [
          'DECODE_UNKNOWN_VERSION',
          async () => {
            const u = await m.unit({ sessionId: sidB }, to)
            u[0] = 2
            return u
          },
        ],
        ['DECODE_SHORT_INPUT', async () => (await m.unit({ sessionId: sidB }, to)).subarray(0, 50)],
        [
          'DECODE_TRAILING_BYTES',
          async () => {
            const u = await m.unit({ sessionId: sidB }, to)
            const longer = new Uint8Array(u.length + 1)
            longer.set(u)
            return longer
          },
        ],
        [
          'ENVELOPE_BAD_SIGNATURE', // wrong key: signed by someone else, claiming m
          async () => m.unit({ sessionId: sidB }, to, { signer: (await generateIdentity(crypto)).key }),
        ],
        [
          'ENVELOPE_BAD_SIGNATURE', // non-canonical S (S + L)
          async () => {
            const u = await m.unit({ sessionId: sidB }, to)
            const sAt = u.length - 32
            let s = 0n
            for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(u[sAt + i]!)
            let t = s + L
            for (let i = 0; i < 32; i++) {
              u[sAt + i] = Number(t & 0xffn)
              t >>= 8n
            }
            return u
          },
        ],
        ['ENVELOPE_BAD_SIGNATURE', () => m.unit({ sessionId: sidB }, to, { tag: 'handshake' })], // another context's signature
        ['FUTURE_ROUND', () => m.unit({ sessionId: sidB, round: 40 }, to)],
        ['ROUND_RESERVED', () => m.unit({ sessionId: sidB, round: 0, kind: 'msg' }, BROADCAST_RECIPIENT)],
      ]
      const expected: Record<string, number> = {}
      for (const [code, make] of cases) {
        m.send(a.party.id, await make())
        expected[code] = (expected[code] ?? 0) + 1
        await expectRefused(a, code, expected[code])
      }
      // replay: the same valid unit twice is delivered once
      const good = await m.unit({ sessionId: sidB, body: new Uint8Array([42]) }, to)
      m.send(a.party.id, good)
      m.send(a.party.id, good)
      await expectRefused(a, 'ENVELOPE_REPLAY')
      expect(await sa.receive(m.id, 1)).toEqual(new Uint8Array([42]))
      // and the session goes on: the link is still up and a later message arrives
      m.send(a.party.id, await m.unit({ sessionId: sidB, round: 2, body: new Uint8Array([7]) }, to))
      expect(await sa.receive(m.id, 2)).toEqual(new Uint8Array([7]))
      expect(a.party.peers().map((p) => p.peer)).toContain(m.id)
    })

    it('refuses an envelope signed by C that B forwards over its own link (ENVELOPE_WRONG_SENDER)', async () => {
      const crypto = makeCrypto()
      const { a, c, m, sc } = await setup(crypto)
      await m.link(c.party.id)
      await sc.broadcast(1, new TextEncoder().encode('from c'))
      await until(() => m.received.length > 0, 5000, 'm receives c broadcast')
      m.send(a.party.id, m.received[0]!)
      await expectRefused(a, 'ENVELOPE_WRONG_SENDER')
    })

    it('refuses an envelope from a party outside the session (ENVELOPE_NOT_PARTICIPANT)', async () => {
      const crypto = makeCrypto()
      const net = network()
      const a = await makeParty(net, crypto)
      const c = await makeParty(net, crypto)
      stops.push(
        () => a.party.stop(),
        () => c.party.stop(),
      )
      const m = await RawPeer.create(net, crypto)
      const sid = randomSid(crypto)
      a.party.session({ id: sid, participants: [a.party.id, c.party.id] })
      await m.link(a.party.id)
      m.send(a.party.id, await m.unit({ sessionId: sidBytes(sid) }, BROADCAST_RECIPIENT))
      await expectRefused(a, 'ENVELOPE_NOT_PARTICIPANT')
    })

    it('a sender that overfills its inbox is held back (backpressure), and nothing is lost', async () => {
      const crypto = makeCrypto()
      const { a, m, sid, sa } = await setup(crypto, { inboxPerSender: 5 })
      for (let i = 0; i < 7; i++) {
        m.send(
          a.party.id,
          await m.unit({ sessionId: sidBytes(sid), body: new Uint8Array([i]) }, partyIdToBytes(a.party.id)),
        )
      }
      await until(() => (a.party.counters().inboxWaits ?? 0) > 0, 5000, 'backpressure')
      expect(a.events.some((e) => e.type === 'backpressure' && e.peer === m.id)).toBe(true)
      expect(a.party.counters().drops).toEqual({})
      for (let i = 0; i < 7; i++) expect(await sa.receive(m.id, 1)).toEqual(new Uint8Array([i]))
    })
  })
}

describe('floods stay within their caps', () => {
  it.each([
    ['maxUnprocessedPerPeer', (_wire: number) => ({ maxUnprocessedPerPeer: 20 })],
    ['maxUnprocessedBytesPerPeer', (wire: number) => ({ maxUnprocessedBytesPerPeer: 20 * wire })],
  ])(
    'units received and not yet processed are capped per peer (%s): past it the peer is cut off, what was taken is delivered',
    async (limit, cap) => {
      const crypto = createNodeCrypto()
      // every unit below has the same size on the wire (a 1-byte body)
      const probe = await RawPeer.create(network(), crypto)
      const wire = (
        await probe.unit({ sessionId: new Uint8Array(32), body: new Uint8Array(1) }, new Uint8Array(32))
      ).length
      const { a, m, sid, sa } = await setup(crypto, { inboxPerSender: 5, ...cap(wire) })
      // the inbox takes 5; the 6th waits for room and holds the 20 behind it; the 26th is one too
      // many (what mallory sends after that finds its link closed)
      for (let i = 0; i < 30; i++) {
        const unit = await m.unit(
          { sessionId: sidBytes(sid), body: new Uint8Array([i]) },
          partyIdToBytes(a.party.id),
        )
        try {
          m.send(a.party.id, unit)
        } catch {
          break
        }
      }
      await until(
        () => (a.party.counters().drops as Record<string, number>).PEER_BANNED === 1,
        5000,
        'the flooding peer cut off',
      )
      const ban = a.events.find((e) => e.type === 'drop' && e.code === 'PEER_BANNED')
      expect(ban).toMatchObject({ peer: m.id })
      expect(String((ban as { reason?: string }).reason)).toContain(limit)
      for (let i = 0; i < 25; i++) expect(await sa.receive(m.id, 1)).toEqual(new Uint8Array([i]))
    },
  )

  it('an honest sender whose retransmit buffer is no larger than the cap is never cut off by it', async () => {
    const { a, b, sa, sb, stop } = await sessionPair(createNodeCrypto(), {
      limits: { maxUnackedPerPeer: 20, maxBatchUnits: 1 },
      bLimits: { inboxPerSender: 5, maxUnprocessedPerPeer: 20 },
    })
    stops.push(stop)
    await a.party.waitForPeers([b.party.id])
    const sent = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => sa.send(b.party.id, 1, new Uint8Array([i]))),
    )
    const accepted = sent.filter((r) => r.status === 'fulfilled').length
    expect(accepted).toBe(20)
    await until(() => (b.party.counters().inboxWaits ?? 0) > 0, 5000, 'b waits for inbox room')
    for (let i = 0; i < accepted; i++) expect(await sb.receive(a.party.id, 1)).toEqual(new Uint8Array([i]))
    expect(b.party.counters().drops).toEqual({})
  })

  it('the unknown-session buffer holds at most its sessions and bytes per sender, then expires', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const limits = {
      ...PATIENT,
      unknownSessionMaxSessions: 50,
      unknownSessionMaxBytesPerSender: 20_000,
      unknownSessionHoldMs: 3000,
    }
    const a = await makeParty(net, crypto, { limits })
    stops.push(() => a.party.stop())
    const m = await RawPeer.create(net, crypto)
    await m.link(a.party.id)
    const sids: SessionId[] = []
    let peakSessions = 0
    let peakBytes = 0
    for (let i = 0; i < 150; i++) {
      const sid = randomSid(crypto)
      sids.push(sid)
      m.send(
        a.party.id,
        await m.unit({ sessionId: sidBytes(sid), body: new Uint8Array(100) }, partyIdToBytes(a.party.id)),
      )
      if (i % 10 === 0) {
        await new Promise((r) => setTimeout(r, 1))
        const u = a.host.unknownSessionUsage(m.id)
        peakSessions = Math.max(peakSessions, u.sessions)
        peakBytes = Math.max(peakBytes, u.bytes)
      }
    }
    await until(() => dropped(a, 'UNKNOWN_SESSION_OVER_CAP') > 0, 5000, 'over-cap drops')
    const usage = a.host.unknownSessionUsage(m.id)
    expect(Math.max(peakSessions, usage.sessions)).toBeLessThanOrEqual(50)
    expect(Math.max(peakBytes, usage.bytes)).toBeLessThanOrEqual(20_000)
    // a held message is delivered when its session opens
    const s = a.party.session({ id: sids[0]!, participants: [a.party.id, m.id] })
    expect(await s.receive(m.id, 1)).toEqual(new Uint8Array(100))
    // the rest expire and are counted
    await until(() => dropped(a, 'UNKNOWN_SESSION_EXPIRED') > 0, 15_000, 'expiry')
    await until(() => a.host.unknownSessionUsage(m.id).sessions === 0, 15_000, 'buffer empty')
  })

  it('reassembly memory stays within its cap; a chunk declaring more closes the link with REASSEMBLY_OVER_CAP', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto, {
      limits: { maxReassemblyBytes: 100_000, maxMessageBytes: 1_000_000 },
    })
    stops.push(() => a.party.stop())
    const m = await RawPeer.create(net, crypto)
    await m.link(a.party.id)
    let peak = 0
    for (let i = 0; i < 50; i++) {
      m.sendRecord(a.party.id, {
        type: RecordType.chunk,
        messageId: 1,
        total: 90_000,
        offset: i * 1000,
        data: new Uint8Array(1000),
      })
      if (i % 5 === 0) {
        await new Promise((r) => setTimeout(r, 1))
        peak = Math.max(peak, a.host.reassemblyBytes(m.id))
      }
    }
    expect(peak).toBeLessThanOrEqual(100_000)
    m.sendRecord(a.party.id, {
      type: RecordType.chunk,
      messageId: 2,
      total: 50_000,
      offset: 0,
      data: new Uint8Array(10),
    })
    await until(() => m.closes.length > 0, 5000, 'link closed')
    expect(m.closes[0]!.code).toBe('CHUNK_INVALID') // a new message while one is in progress
    expect(dropped(a, 'CHUNK_INVALID')).toBe(1)
    await until(() => a.party.peers().length === 0, 5000, 'peer gone')
    // a fresh link: a chunk declaring more than the cap is refused at once
    await m.link(a.party.id)
    m.sendRecord(a.party.id, {
      type: RecordType.chunk,
      messageId: 0,
      total: 200_000,
      offset: 0,
      data: new Uint8Array(10),
    })
    await until(() => m.closes.length > 1, 5000, 'second link closed')
    expect(m.closes[1]!.code).toBe('REASSEMBLY_OVER_CAP')
    expect(a.host.reassemblyBytes(m.id)).toBe(0)
  })
})
