/**
 * Consistent broadcast: a sender that broadcast different values to different parties is
 * caught by the echo step; the session aborts naming it, and the evidence (two signed units)
 * checks out with nothing but its public key. A silent party gets an unattributed abort.
 * Evidence names one slot its sender could fill only once (issue #16, item 4): a position in
 * its signed broadcast stream (session, sender, epoch, seq). Two ordinary broadcasts of one
 * round and kind (a chat line, then another) are not evidence; and the echo of a kind travels
 * under a kind of its own, valid and distinct for every kind.
 */
import {
  type ConclaveError,
  type EquivocationEvidence,
  type PartyId,
  utf8,
  verifyEquivocationEvidence,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { BROADCAST_RECIPIENT, echoKind } from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { toHex } from '../src/bytes.ts'
import { decodeUnit } from '../src/wire/envelope.ts'
import { makeParty, network, RawPeer, randomSid, sidBytes, type TestParty } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const crypto = createNodeCrypto()

async function parties(n: number): Promise<{ net: ReturnType<typeof network>; ps: TestParty[] }> {
  const net = network()
  const ps: TestParty[] = []
  for (let i = 0; i < n; i++) {
    const p = await makeParty(net, crypto)
    stops.push(() => p.party.stop())
    ps.push(p)
  }
  return { net, ps }
}

describe('consistent broadcast', () => {
  it('honest parties agree and get every broadcast', async () => {
    const { ps } = await parties(3)
    const ids = ps.map((p) => p.party.id)
    const sid = randomSid(crypto)
    const ss = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    await Promise.all(ss.map((s, i) => s.broadcast(1, utf8(`value ${i}`))))
    const got = await Promise.all(ss.map((s) => s.collect(1, { broadcast: true, consistent: true })))
    for (const g of got) expect(g.size).toBe(2)
  })

  it('an equivocating broadcaster is caught, named, and the evidence checks out', async () => {
    const { net, ps } = await parties(2)
    const [b, c] = ps
    const m = await RawPeer.create(net, crypto)
    const ids = [b!.party.id, c!.party.id, m.id]
    const sid = randomSid(crypto)
    const sb = b!.party.session({ id: sid, participants: ids })
    const sc = c!.party.session({ id: sid, participants: ids })
    await m.link(b!.party.id)
    await m.link(c!.party.id)
    // m signs two different broadcasts at one position of its broadcast stream: one to b, one to c
    m.send(
      b!.party.id,
      await m.unit({ sessionId: sidBytes(sid), seq: 0n, body: utf8('pay 1') }, BROADCAST_RECIPIENT),
    )
    m.send(
      c!.party.id,
      await m.unit({ sessionId: sidBytes(sid), seq: 0n, body: utf8('pay 1000') }, BROADCAST_RECIPIENT),
    )
    await sb.broadcast(1, utf8('b'))
    await sc.broadcast(1, utf8('c'))
    const results = await Promise.allSettled([
      sb.collect(1, { broadcast: true, consistent: true }),
      sc.collect(1, { broadcast: true, consistent: true }),
    ])
    const caught = results.filter(
      (r): r is PromiseRejectedResult =>
        r.status === 'rejected' && (r.reason as ConclaveError).code === 'EQUIVOCATION',
    )
    expect(caught.length).toBeGreaterThanOrEqual(1)
    const err = caught[0]!.reason as ConclaveError
    expect(err.details.culprit).toBe(m.id)
    // the evidence travels as plain JSON and anyone can check it with m's public key
    const evidence = JSON.parse(JSON.stringify(err.details.evidence)) as EquivocationEvidence
    expect(await verifyEquivocationEvidence(crypto, evidence)).toBe(true)
    // tampering with it makes it worthless
    const forged = { ...evidence, units: [evidence.units[0], evidence.units[0]] as [string, string] }
    expect(await verifyEquivocationEvidence(crypto, forged)).toBe(false)
    // both honest parties end with the session aborted, naming the equivocation
    for (const p of [b!, c!]) {
      const ev = p.events.find((e) => e.type === 'session' && e.state === 'aborted')
      expect(ev).toMatchObject({ code: 'EQUIVOCATION' })
    }
  })

  it('a silent party gets an unattributed abort that names it, never blame', async () => {
    const { ps } = await parties(3)
    const ids = ps.map((p) => p.party.id)
    const sid = randomSid(crypto)
    const ss = ps.map((p) => p.party.session({ id: sid, participants: ids, roundTimeoutMs: 500 }))
    await ss[0]!.broadcast(1, utf8('a'))
    await ss[1]!.broadcast(1, utf8('b'))
    const err = await ss[0]!
      .collect(1, { broadcast: true, consistent: true })
      .catch((e: unknown) => e as ConclaveError)
    expect(err).toMatchObject({ code: 'ROUND_TIMEOUT', details: { silent: [ids[2]] } })
    expect((err as ConclaveError).details.culprit).toBeUndefined()
  })
})

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
    const { net, ps } = await parties(2)
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
