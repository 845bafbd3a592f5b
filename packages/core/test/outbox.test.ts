/**
 * The outbox store: folding records, the JSON-line encoding (a torn last line is skipped and
 * counted, damage elsewhere is OUTBOX_CORRUPT), and a party restarted with its store resuming
 * its streams and its session: nothing lost, nothing twice, in order, and its peers do not see
 * PEER_RESTARTED.
 */
import {
  createMemoryOutboxStore,
  generateIdentity,
  type Limits,
  type OutboxStore,
  type PartyEvent,
  type PartyId,
  partyIdToBytes,
  type SessionId,
  type SigningKey,
  sessionIdToBytes,
  toHex,
} from '@conclave/core'
import {
  applyOutboxRecord,
  createInThreadSessionHost,
  createOutboxState,
  createParty,
  encodeOutboxRecord,
  encodeOutboxSnapshot,
  type OutboxRecord,
  readOutboxLines,
} from '@conclave/core/host'
import { createNodeCrypto } from '@conclave/core/node'
import type { MemoryNetwork } from '@conclave/core/transport'
import { encodeBatch, encodeFullBatch, encodePayload } from '@conclave/core/wire'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, randomSid, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const P1 = 'a'.repeat(64) as PartyId
const P2 = 'b'.repeat(64) as PartyId
const SID = 'c'.repeat(64) as SessionId

function journal(): OutboxRecord[] {
  const key = { from: P2, round: 1, kind: 'msg', broadcast: false }
  return [
    { type: 'epoch', epoch: new Uint8Array(16).fill(9) },
    { type: 'open', session: { id: SID, participants: [P1, P2], roundTimeoutMs: 5000 } },
    { type: 'peer-epoch', peer: P2, epoch: '00'.repeat(16) },
    {
      type: 'enqueue',
      sessionId: SID,
      stream: P2,
      streamSeq: 0,
      unit: new Uint8Array([1]),
      to: [{ peer: P2, seq: 0 }],
    },
    {
      type: 'enqueue',
      sessionId: SID,
      stream: P2,
      streamSeq: 1,
      unit: new Uint8Array([2]),
      to: [{ peer: P2, seq: 1 }],
    },
    { type: 'ack', peer: P2, next: 1 },
    ...[0, 1, 2].map(
      (i): OutboxRecord => ({
        type: 'accept',
        sessionId: SID,
        key,
        body: new Uint8Array([i]),
        replayStream: 's',
        replaySeq: i,
        fresh: 'f',
        deliverySeq: i,
      }),
    ),
    { type: 'take', sessionId: SID, key },
    { type: 'round', sessionId: SID, round: 4 },
  ]
}

describe('outbox state', () => {
  it('folds the journal: unacked units, counters, inbox, replay memory', () => {
    const state = createOutboxState()
    for (const r of journal()) applyOutboxRecord(state, r)
    const p = state.peers.get(P2)!
    expect([...p.unacked.keys()]).toEqual([1])
    expect(p.sendNext).toBe(2)
    expect(p.processed).toBe(3)
    const s = state.sessions.get(SID)!
    expect(s.seqs.get(P2)).toBe(2)
    expect(s.sent.get(P2)).toBe(2)
    expect(s.taken.get(P2)).toBe(1)
    expect(s.inbox.map((m) => m.body[0])).toEqual([1, 2])
    expect(s.replay.get('s')).toEqual({ floor: 3, above: new Set() })
    expect(s.round).toBe(4)
    // a new incarnation of the peer starts its streams afresh; an ended session is forgotten
    applyOutboxRecord(state, { type: 'peer-epoch', peer: P2, epoch: '11'.repeat(16) })
    expect(state.peers.get(P2)).toMatchObject({ sendNext: 0, processed: 0 })
    applyOutboxRecord(state, { type: 'end', sessionId: SID })
    expect(state.sessions.has(SID)).toBe(false)
    expect(state.ended.has(SID)).toBe(true)
  })

  it('a batch is one enqueue record: one unit to resend, every stream it carries counted', () => {
    const state = createOutboxState()
    applyOutboxRecord(state, { type: 'open', session: { id: SID, participants: [P1, P2] } })
    const batch: OutboxRecord = {
      type: 'enqueue',
      sessionId: SID,
      stream: P2,
      streamSeq: 0,
      unit: new Uint8Array([0x80]),
      to: [{ peer: P2, seq: 0 }],
      more: [1, 2].map((streamSeq) => ({ sessionId: SID, stream: P2, streamSeq })),
    }
    applyOutboxRecord(state, batch)
    expect([...state.peers.get(P2)!.unacked.keys()]).toEqual([0])
    expect(state.sessions.get(SID)!.seqs.get(P2)).toBe(3)
    expect(state.sessions.get(SID)!.sent.get(P2)).toBe(3)
    // and it reads back from its JSON line
    const back = readOutboxLines([
      encodeOutboxRecord({ type: 'open', session: { id: SID, participants: [P1, P2] } }),
      encodeOutboxRecord(batch),
    ]).state
    expect(encodeOutboxSnapshot(back)).toBe(encodeOutboxSnapshot(state))
  })

  it('reads back what it wrote, from records and from a snapshot', () => {
    const folded = createOutboxState()
    for (const r of journal()) applyOutboxRecord(folded, r)
    const fromRecords = readOutboxLines(journal().map(encodeOutboxRecord)).state
    const fromSnapshot = readOutboxLines([encodeOutboxSnapshot(folded)]).state
    for (const st of [fromRecords, fromSnapshot]) {
      expect(encodeOutboxSnapshot(st)).toBe(encodeOutboxSnapshot(folded))
      expect(toHex(st.epoch!)).toBe('09'.repeat(16))
    }
  })

  it('skips a torn last line and counts it; damage before the end is OUTBOX_CORRUPT', () => {
    const lines = journal().map(encodeOutboxRecord)
    const torn = [...lines, lines[3]!.slice(0, 20)]
    const { state, tornLines } = readOutboxLines(torn)
    expect(tornLines).toBe(1)
    expect(state.sessions.get(SID)!.inbox).toHaveLength(2)
    expect(() => readOutboxLines([lines[0]!, '{"type":', lines[1]!])).toThrowError(
      expect.objectContaining({ code: 'OUTBOX_CORRUPT' }),
    )
    expect(() => readOutboxLines([lines[0]!, '{"type":"nope"}'])).toThrowError(
      expect.objectContaining({ code: 'OUTBOX_CORRUPT' }),
    )
  })
})

/** A party on `net` with an in-thread host using `outbox`. */
async function partyWithOutbox(
  net: MemoryNetwork,
  key: SigningKey,
  outbox: OutboxStore,
  limits?: Partial<Limits>,
): Promise<TestParty> {
  const crypto = createNodeCrypto()
  const host = createInThreadSessionHost({ crypto, identity: key, outbox, ...(limits ? { limits } : {}) })
  const party = createParty({ identity: key, crypto, transport: net.transport(), host })
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  await party.start()
  return { party, host, key, events }
}

function body(i: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, i)
  return b
}
const num = (m: Uint8Array): number => new DataView(m.buffer, m.byteOffset).getUint32(0)

describe('a party restarted with its outbox store', () => {
  it('resumes its streams and its session: nothing lost or twice, in order, no PEER_RESTARTED', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const outbox = createMemoryOutboxStore()
    const key = (await generateIdentity(crypto)).key
    let a = await partyWithOutbox(net, key, outbox)
    const firstEpoch = toHex(a.host.epoch)
    const b = await makeParty(net, crypto)
    const c = await makeParty(net, crypto)
    stops.push(
      () => b.party.stop(),
      () => c.party.stop(),
    )
    const ids = [a.party.id, b.party.id, c.party.id]
    const others = [b, c]
    const sid = randomSid(crypto)
    const N = 400
    const sessions = others.map((p) =>
      p.party.session({ id: sid, participants: ids, roundTimeoutMs: 60_000 }),
    )
    // b and c send N numbered messages to a, and receive N from a
    const peerRuns = sessions.map(async (s) => {
      const got: number[] = []
      const sending = (async () => {
        for (let k = 0; k < N; k++) {
          await s.send(a.party.id, 1, body(k))
          if (k % 20 === 0) await new Promise((r) => setTimeout(r, 2))
        }
      })()
      for (let k = 0; k < N; k++) got.push(num(await s.receive(a.party.id, 1, { timeoutMs: 20_000 })))
      await sending
      return got
    })
    // a sends and receives until it is stopped partway, then a new host resumes from the store
    const aGot = new Map<PartyId, number[]>(others.map((p) => [p.party.id, []]))
    const runA = async (party: TestParty, stopAfter: number | undefined): Promise<void> => {
      const s = party.party.session({ id: sid, participants: ids, roundTimeoutMs: 60_000 })
      const sent = s.resumed?.sent ?? {}
      const received = s.resumed?.received ?? {}
      if (stopAfter === undefined) expect(s.resumed).toBeDefined()
      let budget = stopAfter ?? Number.POSITIVE_INFINITY
      await Promise.all(
        others.map(async (p) => {
          const peer = p.party.id
          const tasks = [
            (async () => {
              for (let k = sent[peer] ?? 0; k < N && budget > 0; k++) {
                try {
                  await s.send(peer, 1, body(k))
                } catch (e) {
                  if ((e as { code?: string }).code === 'SESSION_CLOSED') return
                  throw e
                }
                budget--
                if (k % 20 === 0) await new Promise((r) => setTimeout(r, 2))
              }
            })(),
            (async () => {
              for (let k = received[peer] ?? 0; k < N && budget > 0; k++) {
                try {
                  aGot.get(peer)!.push(num(await s.receive(peer, 1, { timeoutMs: 20_000 })))
                } catch (e) {
                  if ((e as { code?: string }).code === 'SESSION_CLOSED') return
                  throw e
                }
                budget--
              }
            })(),
          ]
          await Promise.all(tasks)
        }),
      )
    }
    const first = runA(a, Number.POSITIVE_INFINITY)
    await until(() => [...aGot.values()].every((l) => l.length > N / 4), 10_000, 'a quarter received')
    await a.party.stop() // everything in flight stays in the store
    await first
    expect([...aGot.values()].every((l) => l.length < N)).toBe(true)
    a = await partyWithOutbox(net, key, outbox)
    stops.push(() => a.party.stop())
    expect(toHex(a.host.epoch)).toBe(firstEpoch)
    await runA(a, undefined)
    const peerGot = await Promise.all(peerRuns)
    const expected = Array.from({ length: N }, (_, i) => i)
    for (const list of [...aGot.values(), ...peerGot]) expect(list).toEqual(expected)
    for (const p of others) {
      expect(p.events.some((e) => e.type === 'session' && e.state === 'aborted')).toBe(false)
      // nothing more is waiting: no duplicate reached the application
    }
    await expect(sessions[0]!.receive(a.party.id, 1, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'ROUND_TIMEOUT',
    })
    expect(outbox.records).toBeGreaterThan(4 * N)
  }, 60_000)

  it('restarted while taking a batch: what it had accepted of it comes again as duplicates, not replays', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const outbox = createMemoryOutboxStore()
    const limits = { inboxPerSender: 40 }
    const key = (await generateIdentity(crypto)).key
    let b = await partyWithOutbox(net, key, outbox, limits)
    const a = await makeParty(net, crypto)
    stops.push(() => a.party.stop())
    const ids = [a.party.id, b.party.id]
    const sid = randomSid(crypto)
    const sa = a.party.session({ id: sid, participants: ids, roundTimeoutMs: 60_000 })
    b.party.session({ id: sid, participants: ids, roundTimeoutMs: 60_000 })
    await a.party.waitForPeers([b.party.id])
    // one turn: the first is signed alone, the other 99 travel as one batch that b takes only
    // up to its inbox bound (40 from a) and then waits inside
    const N = 100
    const sends = Array.from({ length: N }, (_, k) => sa.send(b.party.id, 1, body(k)))
    await Promise.all(sends)
    await until(() => b.events.some((e) => e.type === 'backpressure'), 10_000, 'b waits for inbox room')
    expect(a.host.counters().batchesSent).toBe(1)
    await b.party.stop()
    b = await partyWithOutbox(net, key, outbox, limits)
    stops.push(() => b.party.stop())
    const sb = b.party.session({ id: sid, participants: ids, roundTimeoutMs: 60_000 })
    expect(sb.resumed).toBeDefined()
    const got: number[] = []
    for (let k = 0; k < N; k++) got.push(num(await sb.receive(a.party.id, 1, { timeoutMs: 10_000 })))
    expect(got).toEqual(Array.from({ length: N }, (_, k) => k))
    const drops = [...a.events, ...b.events].filter((e) => e.type === 'drop')
    expect(drops).toEqual([])
    expect(b.host.counters().duplicates).toBeGreaterThanOrEqual(39)
    await expect(sb.receive(a.party.id, 1, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'ROUND_TIMEOUT',
    })
  }, 30_000)

  /** A store that keeps `unitOf(key)` unacknowledged for P2, and a host to start on it. */
  async function keeping(unitOf: (key: SigningKey) => Uint8Array) {
    const crypto = createNodeCrypto()
    const key = (await generateIdentity(crypto)).key
    const outbox = createMemoryOutboxStore()
    const unit = unitOf(key)
    for (const r of [
      { type: 'epoch', epoch: new Uint8Array(16).fill(9) },
      { type: 'peer-epoch', peer: P2, epoch: '00'.repeat(16) },
      { type: 'enqueue', sessionId: SID, stream: P2, streamSeq: 0, unit, to: [{ peer: P2, seq: 0 }] },
    ] as OutboxRecord[])
      outbox.append(r)
    return (maxMessageBytes: number) =>
      createInThreadSessionHost({ crypto, identity: key, outbox, limits: { maxMessageBytes } })
  }

  it('refuses a store that keeps a unit over what its channels now carry (INVALID_ARGUMENT)', async () => {
    // written under the default limits: a 10 KiB unit waits for P2's acknowledgement
    const start = await keeping(() => new Uint8Array(10 * 1024))
    expect(() => start(4096)).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        details: expect.objectContaining({ bytes: 10240 }),
      }),
    )
    expect(() => start(16 * 1024)).not.toThrow()
  })

  it('measures a kept compact batch in the full form a version-1 peer would get', async () => {
    // 200 envelopes of 10 B in one stream: ~3 KB compact, ~30 KB in the full form
    let full: Uint8Array = new Uint8Array(0)
    const start = await keeping((key) => {
      const items = Array.from({ length: 200 }, (_, i) => ({
        payload: encodePayload({
          sessionId: sessionIdToBytes(SID),
          round: 1,
          kind: 'msg',
          from: key.publicKey,
          epoch: new Uint8Array(16).fill(9),
          seq: BigInt(i),
          body: new Uint8Array(10),
        }),
        recipient: partyIdToBytes(P2),
        timestamp: 1_700_000_000_000n,
      }))
      const unit = encodeBatch(items, new Uint8Array(64))
      full = encodeFullBatch(items, new Uint8Array(64))
      expect(unit.length).toBeLessThan(4096)
      return unit
    })
    expect(full.length).toBeGreaterThan(16 * 1024)
    expect(() => start(4096)).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        details: expect.objectContaining({ bytes: full.length }),
      }),
    )
    expect(() => start(64 * 1024)).not.toThrow()
  })

  it('without a store, the restarted party is a new epoch and its peers abort with PEER_RESTARTED', async () => {
    const crypto = createNodeCrypto()
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
    const b2 = await makeParty(net, crypto, { key: b1.key })
    stops.push(() => b2.party.stop())
    await b2.party.connect(a.party.id)
    await expect(waiting).rejects.toMatchObject({ code: 'PEER_RESTARTED' })
    expect(() => b2.party.session({ id: sid, participants: ids })).not.toThrow() // it knows nothing
  })

  it('a session it closed stays closed after a restart (SESSION_EXISTS)', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const outbox = createMemoryOutboxStore()
    const key = (await generateIdentity(crypto)).key
    const a = await partyWithOutbox(net, key, outbox)
    const other = (await generateIdentity(crypto)).key
    const ids = [a.party.id, (await import('@conclave/core')).partyIdFromBytes(other.publicKey)]
    const sid = randomSid(crypto)
    a.party.session({ id: sid, participants: ids }).close()
    await a.party.stop()
    const a2 = await partyWithOutbox(net, key, outbox)
    stops.push(() => a2.party.stop())
    expect(() => a2.party.session({ id: sid, participants: ids })).toThrowError(
      expect.objectContaining({ code: 'SESSION_EXISTS' }),
    )
  })
})
