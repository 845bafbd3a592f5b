/**
 * Session behaviour over the memory transport: inboxes, rounds, timeouts, aborts, restarts,
 * large messages and coalescing.
 */
import { type PartyId, utf8 } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, randomSid, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

async function group(n: number, limits = {}) {
  const crypto = createNodeCrypto()
  const net = network()
  const ps: TestParty[] = []
  for (let i = 0; i < n; i++) {
    const p = await makeParty(net, crypto, { limits })
    stops.push(() => p.party.stop())
    ps.push(p)
  }
  const ids = ps.map((p) => p.party.id)
  return { crypto, net, ps, ids }
}

describe('sessions', () => {
  it('keeps direct and broadcast, kinds and rounds apart, and collects one message per participant', async () => {
    const { crypto, ps, ids } = await group(3)
    const sid = randomSid(crypto)
    const [a, b, c] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    await a!.send(ids[1]!, 1, utf8('direct'))
    await a!.broadcast(1, utf8('bcast'))
    await a!.send(ids[1]!, 1, utf8('other-kind'), { kind: 'x' })
    await a!.send(ids[1]!, 3, utf8('round3'))
    expect(new TextDecoder().decode(await b!.receive(ids[0]!, 3))).toBe('round3')
    expect(new TextDecoder().decode(await b!.receive(ids[0]!, 1, { kind: 'x' }))).toBe('other-kind')
    expect(new TextDecoder().decode(await b!.receive(ids[0]!, 1, { broadcast: true }))).toBe('bcast')
    expect(new TextDecoder().decode(await b!.receive(ids[0]!, 1))).toBe('direct')
    expect(new TextDecoder().decode(await c!.receive(ids[0]!, 1, { broadcast: true }))).toBe('bcast')
    await b!.broadcast(2, utf8('b2'))
    await c!.broadcast(2, utf8('c2'))
    const got = await a!.collect(2, { broadcast: true })
    expect([...got.keys()].sort()).toEqual([ids[1], ids[2]].sort())
  })

  it('delivers in order per sender, and a receive waits for a message still to come', async () => {
    const { crypto, ps, ids } = await group(2)
    const sid = randomSid(crypto)
    const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    const pending = b!.receive(ids[0]!, 1)
    for (let i = 0; i < 200; i++) void a!.send(ids[1]!, 1, new Uint8Array([i]))
    expect(await pending).toEqual(new Uint8Array([0]))
    for (let i = 1; i < 200; i++) expect(await b!.receive(ids[0]!, 1)).toEqual(new Uint8Array([i]))
  })

  it('coalesces small messages into few frames', async () => {
    const { crypto, ps, ids } = await group(2)
    const sid = randomSid(crypto)
    const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    await a!.send(ids[1]!, 1, new Uint8Array(8)) // link up
    await b!.receive(ids[0]!, 1)
    const before = ps[0]!.party.counters().byTransport.memory!.framesSent
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => a!.send(ids[1]!, 1, new Uint8Array(256).fill(i & 0xff))),
    )
    for (let i = 0; i < 300; i++) await b!.receive(ids[0]!, 1)
    const frames = ps[0]!.party.counters().byTransport.memory!.framesSent - before
    expect(frames).toBeLessThan(30)
  })

  it('chunks a 3 MiB message and reassembles it intact', async () => {
    const { crypto, ps, ids } = await group(2)
    const sid = randomSid(crypto)
    const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    const big = crypto.randomBytes(3 * 1024 * 1024)
    await a!.send(ids[1]!, 1, big)
    const got = await b!.receive(ids[0]!, 1)
    expect(got.length).toBe(big.length)
    expect(Buffer.from(got).equals(Buffer.from(big))).toBe(true)
  })

  it('refuses a body over maxMessageBytes at the sender with MESSAGE_TOO_LARGE', async () => {
    const { crypto, ps, ids } = await group(2, { maxMessageBytes: 1000 })
    const s = ps[0]!.party.session({ id: randomSid(crypto), participants: ids })
    await expect(s.send(ids[1]!, 1, new Uint8Array(1001))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    })
  })

  it('a round timeout is an unattributed abort that names who was silent', async () => {
    const { crypto, ps, ids } = await group(3)
    const sid = randomSid(crypto)
    const [a, b] = ps
      .slice(0, 2)
      .map((p) => p.party.session({ id: sid, participants: ids, roundTimeoutMs: 300 }))
    ps[2]!.party.session({ id: sid, participants: ids, roundTimeoutMs: 300 }) // c stays silent
    await b!.broadcast(1, utf8('here'))
    const err = await a!.collect(1, { broadcast: true }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ROUND_TIMEOUT', details: { round: 1, silent: [ids[2]] } })
    const ev = ps[0]!.events.find((e) => e.type === 'session' && e.state === 'aborted')
    expect(ev).toMatchObject({ code: 'ROUND_TIMEOUT', silent: [ids[2]] })
    expect(ev).not.toHaveProperty('by')
    // the others hear of the abort through the signed abort envelope
    await expect(b!.receive(ids[0]!, 2)).rejects.toMatchObject({ code: 'SESSION_ABORTED' })
    await expect(a!.send(ids[1]!, 2, utf8('late'))).rejects.toMatchObject({ code: 'ROUND_TIMEOUT' })
  })

  it('an abort reaches every participant with its reason and who sent it', async () => {
    const { crypto, ps, ids } = await group(3)
    const sid = randomSid(crypto)
    const [a, b, c] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    const waitB = b!.receive(ids[2]!, 1)
    const abortedC = new Promise((resolve) => c!.on('aborted', resolve))
    await a!.abort('user cancelled')
    await expect(waitB).rejects.toMatchObject({ code: 'SESSION_ABORTED', details: { by: ids[0] } })
    expect(await abortedC).toMatchObject({ state: 'aborted', by: ids[0] })
  })

  it('refuses to open a session id twice (SESSION_EXISTS), even after closing it', async () => {
    const { crypto, ps, ids } = await group(2)
    const sid = randomSid(crypto)
    const s = ps[0]!.party.session({ id: sid, participants: ids })
    expect(() => ps[0]!.party.session({ id: sid, participants: ids })).toThrowError(
      expect.objectContaining({ code: 'SESSION_EXISTS' }),
    )
    s.close()
    expect(() => ps[0]!.party.session({ id: sid, participants: ids })).toThrowError(
      expect.objectContaining({ code: 'SESSION_EXISTS' }),
    )
  })

  it('checks its arguments with codes', async () => {
    const { crypto, ps, ids } = await group(2)
    const p = ps[0]!.party
    expect(() => p.session({ id: 'nope' as never, participants: ids })).toThrowError(
      expect.objectContaining({ code: 'INVALID_SESSION_ID' }),
    )
    expect(() => p.session({ id: randomSid(crypto), participants: [ids[0]!, 'zz' as PartyId] })).toThrowError(
      expect.objectContaining({ code: 'INVALID_PARTY_ID' }),
    )
    expect(() => p.session({ id: randomSid(crypto), participants: [ids[1]!, ids[1]!] })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    const s = p.session({ id: randomSid(crypto), participants: ids })
    await expect(s.send(ids[1]!, 0, utf8('x'))).rejects.toMatchObject({ code: 'ROUND_RESERVED' })
    await expect(s.send(ids[0]!, 1, utf8('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(s.receive(ids[1]!, 1, { timeoutMs: 10 })).rejects.toMatchObject({ code: 'ROUND_TIMEOUT' })
    const ac = new AbortController()
    const r = s.receive(ids[1]!, 2, { signal: ac.signal })
    ac.abort()
    await expect(r).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('a restarted peer (new epoch) aborts the sessions it was in with PEER_RESTARTED', async () => {
    const crypto = createNobleBackend()
    const net = network()
    const a = await makeParty(net, crypto)
    const b1 = await makeParty(net, crypto)
    stops.push(() => a.party.stop())
    const ids = [a.party.id, b1.party.id]
    const sid = randomSid(crypto)
    const sa = a.party.session({ id: sid, participants: ids })
    b1.party.session({ id: sid, participants: ids })
    await a.party.waitForPeers([b1.party.id])
    const waiting = sa.receive(b1.party.id, 1)
    await b1.party.stop()
    const b2 = await makeParty(net, crypto, { key: b1.key }) // same key, new process: new epoch
    stops.push(() => b2.party.stop())
    await b2.party.connect(a.party.id)
    await expect(waiting).rejects.toMatchObject({ code: 'PEER_RESTARTED' })
    await until(
      () => a.events.some((e) => e.type === 'session' && e.code === 'PEER_RESTARTED'),
      2000,
      'event',
    )
  })

  it('a cut link comes back with a fresh handshake and the session goes on', async () => {
    const { crypto, net, ps, ids } = await group(2)
    const sid = randomSid(crypto)
    const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    await a!.send(ids[1]!, 1, utf8('one'))
    await b!.receive(ids[0]!, 1)
    net.cut(ids[0]!, ids[1]!)
    await until(() => ps[0]!.party.peers().length === 0, 2000, 'link lost')
    await a!.send(ids[1]!, 2, utf8('two')) // asks for a new link on demand
    expect(new TextDecoder().decode(await b!.receive(ids[0]!, 2))).toBe('two')
    expect(ps[0]!.party.counters().handshakes).toBe(2)
  })
})

describe('proposals', () => {
  it('the proposer opens a session whose id every participant recomputes; the others join it', async () => {
    const { ps, ids } = await group(3)
    const joined = ps
      .slice(1)
      .map(
        (p) =>
          new Promise<import('@conclave/core').Session>((resolve) =>
            p.party.on('proposal', (ev) => resolve(p.party.join(ev.proposal.sessionId))),
          ),
      )
    const s0 = await ps[0]!.party.propose({ protocol: 'echo', params: utf8('p=1'), participants: ids })
    const [s1, s2] = await Promise.all(joined)
    expect(s1!.id).toBe(s0.id)
    expect(s2!.id).toBe(s0.id)
    await s0.broadcast(1, utf8('hello'))
    expect(new TextDecoder().decode(await s2!.receive(ids[0]!, 1, { broadcast: true }))).toBe('hello')
    expect(() => ps[1]!.party.join(s0.id)).toThrowError(expect.objectContaining({ code: 'SESSION_EXISTS' }))
  })

  it('joining without a proposal fails with PROPOSAL_UNKNOWN', async () => {
    const { crypto, ps } = await group(2)
    expect(() => ps[0]!.party.join(randomSid(crypto))).toThrowError(
      expect.objectContaining({ code: 'PROPOSAL_UNKNOWN' }),
    )
  })
})

describe('concurrent receives on one slot', () => {
  it('a receive that times out withdraws only itself; the message goes to the one still waiting', async () => {
    const { crypto, ps, ids } = await group(2)
    const sid = randomSid(crypto)
    const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
    const patient = b!.receive(ids[0]!, 1)
    const hasty = b!.receive(ids[0]!, 1, { timeoutMs: 50 })
    await expect(hasty).rejects.toMatchObject({ code: 'ROUND_TIMEOUT' })
    await a!.send(ids[1]!, 1, utf8('for the patient one'))
    expect(new TextDecoder().decode(await patient)).toBe('for the patient one')
  })
})

describe('session start', () => {
  async function joinNext(p: TestParty): Promise<import('@conclave/core').Session> {
    const ev = await new Promise<import('@conclave/core').ProposalInfo>((resolve) => {
      const off = p.party.on('proposal', (e) => {
        off()
        resolve(e.proposal)
      })
    })
    return p.party.join(ev.sessionId)
  }

  it('starts once every participant has acked the proposal', async () => {
    const { ps, ids } = await group(3)
    const joined = ps.slice(1).map((p) => joinNext(p))
    const s0 = await ps[0]!.party.propose({ protocol: 'start', participants: ids })
    const [s1, s2] = await Promise.all(joined)
    await Promise.all([s0, s1!, s2!].map((s) => s.started({ timeoutMs: 5000 })))
  })

  it('a party that never joins keeps the session from starting, and is named', async () => {
    const { ps, ids } = await group(3)
    const joined = joinNext(ps[1]!) // ps[2] ignores the proposal
    const s0 = await ps[0]!.party.propose({ protocol: 'start', participants: ids })
    await joined
    await expect(s0.started({ timeoutMs: 300 })).rejects.toMatchObject({
      code: 'ROUND_TIMEOUT',
      details: { silent: [ids[2]] },
    })
  })
})
