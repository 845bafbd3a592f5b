/**
 * What a finished session leaves behind (issue #16, item 12): a long-running party must stay
 * flat. A session closed by the application keeps only its id, in a bounded set; a failed one
 * is released after a linger without the application closing it; the error a failed session
 * keeps holds nothing of the link it came from.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  generateIdentity,
  type Party,
  type PartyEvent,
  type SessionId,
  type SigningKey,
} from '@conclave/core'
import {
  applyOutboxRecord,
  createInThreadSessionHost,
  createOutboxState,
  createParty,
} from '@conclave/core/host'
import { createNodeCrypto } from '@conclave/core/node'
import type { MemoryNetwork } from '@conclave/core/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { ENDED_SESSIONS_KEPT } from '../src/session/ended-sessions.ts'
import type { PeerTable } from '../src/session/peer-table.ts'
import { FAILED_SESSION_LINGER_MS } from '../src/session/session-table.ts'
import { makeParty, network, randomSid, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s()
})

const crypto = createNodeCrypto()
const body = new Uint8Array([1, 2, 3])

/** The session facades a party keeps (a private field: what this test is about). */
const facades = (party: Party): Map<string, unknown> =>
  (party as unknown as { sessions: Map<string, unknown> }).sessions

/** A started party on `net` whose in-thread host reads the clock `now` (no keepalive). */
async function clockedParty(net: MemoryNetwork, now: () => number, key?: SigningKey) {
  const identity = key ?? (await generateIdentity(crypto)).key
  const host = createInThreadSessionHost({ crypto, identity, now, limits: { keepaliveMs: 0 } })
  const party = createParty({ identity, crypto, transport: net.transport(), host })
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  await party.start()
  stops.push(() => party.stop())
  return { party, host, events }
}

/** Two linked parties sharing the clock `now`. */
async function linkedPair(now: () => number) {
  const net = network()
  const a = await clockedParty(net, now)
  const b = await clockedParty(net, now)
  await a.party.connect(b.party.id)
  await a.party.waitForPeers([b.party.id], { timeoutMs: 5000 })
  await b.party.waitForPeers([a.party.id], { timeoutMs: 5000 })
  return { net, a, b, participants: [a.party.id, b.party.id] }
}

describe('what a finished session leaves behind', () => {
  it('sessions closed, or aborted then closed, keep nothing in the host or the party but their ids', async () => {
    const net = network()
    const a = await makeParty(net, crypto)
    const b = await makeParty(net, crypto)
    stops.push(
      () => a.party.stop(),
      () => b.party.stop(),
    )
    const participants = [a.party.id, b.party.id]
    const n = 20
    for (let i = 0; i < n; i++) {
      const id = randomSid(crypto)
      const sa = a.party.session({ id, participants })
      const sb = b.party.session({ id, participants })
      await sa.send(b.party.id, 1, body)
      expect(await sb.receive(a.party.id, 1)).toEqual(body)
      if (i % 2 === 1) {
        await sa.abort('done here')
        await until(() => b.events.some((e) => e.type === 'session' && e.sessionId === id), 5000, 'abort')
      }
      sa.close()
      sb.close()
    }
    for (const p of [a, b]) {
      expect(p.host.sessionUsage()).toEqual({ open: 0, lingering: 0, ended: n, resumed: 0 })
      expect(p.party.counters()).toMatchObject({ sessionsOpened: n, sessionsReleased: n })
      expect(facades(p.party).size).toBe(0)
    }
  })

  it('a failed session is released after its linger without being closed; calls on it still fail with how it ended', async () => {
    let t = Date.now()
    const { a, b, participants } = await linkedPair(() => t)
    const id = randomSid(crypto)
    const sa = a.party.session({ id, participants })
    const sb = b.party.session({ id, participants })
    await sb.abort('the peer gave up')
    await until(() => a.events.some((e) => e.type === 'session' && e.state === 'aborted'), 5000, 'abort')
    // lingering: its state and full error stay a while
    expect(a.host.sessionUsage()).toMatchObject({ open: 1, lingering: 1 })
    await expect(sa.send(b.party.id, 1, body)).rejects.toMatchObject({
      code: 'SESSION_ABORTED',
      details: { by: b.party.id },
    })
    t += FAILED_SESSION_LINGER_MS + 1
    // the linger is over: the next session opened here releases it (and so does a timer)
    const next = a.party.session({ id: randomSid(crypto), participants })
    expect(a.host.sessionUsage()).toEqual({ open: 1, lingering: 0, ended: 1, resumed: 0 })
    expect(a.events).toContainEqual({ type: 'session', sessionId: id, state: 'closed' })
    expect([...facades(a.party).keys()]).toEqual([next.id])
    expect(a.party.counters().sessionsReleased).toBe(1)
    await expect(sa.send(b.party.id, 1, body)).rejects.toMatchObject({ code: 'SESSION_ABORTED' })
    // its id stays: the session is never opened again
    expect(() => a.party.session({ id, participants })).toThrowError(
      expect.objectContaining({ code: 'SESSION_EXISTS' }),
    )
  })

  it(`the ids of ended sessions are bounded: the newest ${ENDED_SESSIONS_KEPT.toLocaleString('en-US')} once past the replay window`, async () => {
    let t = Date.now()
    const { a, participants } = await linkedPair(() => t)
    const ids: SessionId[] = []
    const over = 50
    for (let i = 0; i < ENDED_SESSIONS_KEPT + over; i++) {
      const id = randomSid(crypto)
      ids.push(id)
      a.party.session({ id, participants }).close()
      t += 1
    }
    // none is forgotten inside the replay window (2 × skewMs), whatever their number
    expect(a.host.sessionUsage().ended).toBe(ENDED_SESSIONS_KEPT + over)
    t += 2 * 30_000
    const last = randomSid(crypto)
    a.party.session({ id: last, participants }).close()
    expect(a.host.sessionUsage()).toEqual({ open: 0, lingering: 0, ended: ENDED_SESSIONS_KEPT, resumed: 0 })
    expect(facades(a.party).size).toBe(0)
    // the newest are still refused
    for (const id of [last, ids.at(-1)!])
      expect(() => a.party.session({ id, participants })).toThrowError(
        expect.objectContaining({ code: 'SESSION_EXISTS' }),
      )
  })

  it(`an outbox store keeps the newest ${ENDED_SESSIONS_KEPT.toLocaleString('en-US')} ended ids, not one more per session forever`, () => {
    const state = createOutboxState()
    const ids = Array.from({ length: ENDED_SESSIONS_KEPT + 50 }, () => randomSid(crypto))
    for (const sessionId of ids) applyOutboxRecord(state, { type: 'end', sessionId })
    expect(state.ended.size).toBe(ENDED_SESSIONS_KEPT)
    expect(state.ended.has(ids[0]!)).toBe(false)
    expect(state.ended.has(ids.at(-1)!)).toBe(true)
    expect([...state.ended][0]).toBe(ids[50])
  })

  it("a failed session's error keeps nothing of the link it came from: the departed peer's secure channel is collected", async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const net = network()
    const a = await makeParty(net, crypto)
    stops.push(() => a.party.stop())
    const bKey = (await generateIdentity(crypto)).key
    const b1 = await makeParty(net, crypto, { key: bKey })
    const participants = [a.party.id, b1.party.id]
    const id = randomSid(crypto)
    a.party.session({ id, participants })
    await a.party.connect(b1.party.id)
    await a.party.waitForPeers([b1.party.id], { timeoutMs: 5000 })
    await b1.party.stop()
    // b comes back as a new incarnation (new epoch): a's session fails with PEER_RESTARTED,
    // from inside the new link's handshake
    const b2 = await makeParty(net, crypto, { key: bKey })
    await a.party.connect(b2.party.id)
    await until(
      () =>
        a.events.some((e) => e.type === 'session' && e.state === 'aborted' && e.code === 'PEER_RESTARTED'),
      5000,
      'PEER_RESTARTED',
    )
    const peers = (a.host as unknown as { peerTable: PeerTable }).peerTable
    const channel = new WeakRef(peers.find(b2.party.id)!.link!.channel)
    // b leaves for good; a's failed session lingers with its error
    await b2.party.stop()
    await until(() => peers.find(b2.party.id)?.link === undefined, 5000, 'link closed')
    expect(a.host.sessionUsage()).toMatchObject({ lingering: 1 })
    for (let i = 0; i < 5 && channel.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 50))
      gc()
    }
    expect(channel.deref()).toBeUndefined()
  })
})
