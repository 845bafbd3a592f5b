/**
 * Equivocation evidence names one slot its sender could fill only once (issue #16, item 4): a
 * position in its signed broadcast stream (session, sender, epoch, sequence number). Two
 * ordinary broadcasts of one round and kind (a chat line, then another) are not evidence; and
 * the echo of a kind travels under a kind of its own, valid and distinct for every kind.
 */
import {
  BROADCAST_RECIPIENT,
  type ConclaveError,
  type EquivocationEvidence,
  echoKind,
  type PartyId,
  utf8,
  verifyEquivocationEvidence,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { toHex } from '../src/bytes.ts'
import { decodeUnit } from '../src/wire/envelope.ts'
import { makeParty, network, RawPeer, randomSid, sidBytes, type TestParty } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const crypto = createNodeCrypto()

/** Evidence built from two signed units of `m`, as a recipient would present it. */
function evidenceOf(
  m: RawPeer,
  sid: ReturnType<typeof randomSid>,
  a: Uint8Array,
  b: Uint8Array,
): EquivocationEvidence {
  return {
    version: 1,
    type: 'equivocation',
    sessionId: sid,
    culprit: m.id,
    round: 1,
    kind: 'msg',
    units: [toHex(a), toHex(b)],
  }
}

describe('equivocation evidence names one slot', () => {
  it('two ordinary broadcasts of one round and kind with different bodies are not accepted as evidence', async () => {
    const m = await RawPeer.create(network(), crypto)
    const sid = randomSid(crypto)
    // a chat: two lines broadcast in round 1, kind 'msg', one after the other (seq 0, then 1)
    const line1 = await m.unit({ sessionId: sidBytes(sid), body: utf8('hello') }, BROADCAST_RECIPIENT)
    const line2 = await m.unit({ sessionId: sidBytes(sid), body: utf8('how are you?') }, BROADCAST_RECIPIENT)
    expect(decodeUnit(line1).seq).not.toBe(decodeUnit(line2).seq)
    expect(await verifyEquivocationEvidence(crypto, evidenceOf(m, sid, line1, line2))).toBe(false)
    // two different bodies signed at one stream position are evidence
    const a = await m.unit({ sessionId: sidBytes(sid), seq: 7n, body: utf8('pay 1') }, BROADCAST_RECIPIENT)
    const b = await m.unit({ sessionId: sidBytes(sid), seq: 7n, body: utf8('pay 1000') }, BROADCAST_RECIPIENT)
    expect(await verifyEquivocationEvidence(crypto, evidenceOf(m, sid, a, b))).toBe(true)
    // ... but not under two epochs (two streams)
    const c = await m.unit(
      { sessionId: sidBytes(sid), seq: 7n, epoch: new Uint8Array(16).fill(8), body: utf8('pay 1000') },
      BROADCAST_RECIPIENT,
    )
    expect(await verifyEquivocationEvidence(crypto, evidenceOf(m, sid, a, c))).toBe(false)
  })

  it('a sender whose broadcasts differ at two stream positions is named, without evidence', async () => {
    const net = network()
    const ps: TestParty[] = []
    for (let i = 0; i < 2; i++) {
      const p = await makeParty(net, crypto)
      stops.push(() => p.party.stop())
      ps.push(p)
    }
    const [b, c] = ps as [TestParty, TestParty]
    const m = await RawPeer.create(net, crypto)
    const ids: PartyId[] = [b.party.id, c.party.id, m.id]
    const sid = randomSid(crypto)
    const sb = b.party.session({ id: sid, participants: ids })
    const sc = c.party.session({ id: sid, participants: ids })
    await m.link(b.party.id)
    await m.link(c.party.id)
    m.send(b.party.id, await m.unit({ sessionId: sidBytes(sid), body: utf8('one') }, BROADCAST_RECIPIENT))
    m.send(c.party.id, await m.unit({ sessionId: sidBytes(sid), body: utf8('two') }, BROADCAST_RECIPIENT))
    await sb.broadcast(1, utf8('b'))
    await sc.broadcast(1, utf8('c'))
    const results = await Promise.allSettled([
      sb.collect(1, { broadcast: true, consistent: true }),
      sc.collect(1, { broadcast: true, consistent: true }),
    ])
    for (const r of results) {
      expect(r.status).toBe('rejected')
      const err = (r as PromiseRejectedResult).reason as ConclaveError
      expect(err.code).toBe('SESSION_ABORTED')
      expect(err.details.culprit).toBe(m.id)
      expect(err.details.evidence).toBeUndefined()
    }
  })
})

describe('echo kinds', () => {
  const bytes = (s: string) => new TextEncoder().encode(s).length

  it('two kinds sharing a 60-character prefix get distinct, valid echo kinds', () => {
    const prefix = 'p'.repeat(60)
    const k1 = echoKind(`${prefix}-a`)
    const k2 = echoKind(`${prefix}-b`)
    expect(k1).not.toBe(k2)
    for (const k of [k1, k2]) expect(bytes(k)).toBeLessThanOrEqual(64)
  })

  it('a long non-ASCII kind gets a valid echo kind (at most 64 bytes of UTF-8), distinct from its neighbours', () => {
    const long = 'é'.repeat(32) // 64 bytes of UTF-8: the longest kind there is
    const other = `${'é'.repeat(31)}è`
    const k1 = echoKind(long)
    const k2 = echoKind(other)
    for (const k of [k1, k2]) {
      expect(bytes(k)).toBeLessThanOrEqual(64)
      expect(bytes(k)).toBeGreaterThan(0)
    }
    expect(k1).not.toBe(k2)
    // a short kind keeps its readable echo kind, and no kind's echo is another kind's
    expect(echoKind('chat')).toBe('echo:chat')
    expect(echoKind('chat')).not.toBe(k1)
  })
})
