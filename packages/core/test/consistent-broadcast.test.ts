/**
 * Consistent broadcast: a sender that broadcast different values to different parties is
 * caught by the echo step; the session aborts naming it, and the evidence (two signed units)
 * checks out with nothing but its public key. A silent party gets an unattributed abort.
 */
import {
  BROADCAST_RECIPIENT,
  type ConclaveError,
  type EquivocationEvidence,
  utf8,
  verifyEquivocationEvidence,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
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
