/**
 * The session host's parts that run without links: the per-peer record (one place to create,
 * one to drop), the journal (the no-op one keeps nothing; the store one writes each record),
 * the link table's measures (RTT, health, relink backoff) and the portable next turn.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { setImmediateTurn } from '../src/channel/next-turn.node.ts'
import { createMessageChannelTurn } from '../src/channel/next-turn.ts'
import type { PartyId, SessionId } from '../src/ids.ts'
import { noJournal, storeJournal } from '../src/session/journal.ts'
import {
  type HostLink,
  health,
  type LinkChannel,
  newHostLink,
  noteLink,
  onPong,
  relinkLater,
} from '../src/session/link-table.ts'
import { createMemoryOutboxStore } from '../src/session/outbox-state.ts'
import { type HostPeer, PeerTable } from '../src/session/peer-table.ts'

const A = 'aa'.repeat(32) as PartyId
const B = 'bb'.repeat(32) as PartyId
const SID = '11'.repeat(32) as SessionId
const deliveryLimits = { maxUnacked: 4, maxUnackedBytes: 1024 }

function link(peer: PartyId, now = 0): HostLink {
  const channel = { isClosed: false, close: vi.fn(), sendRecord: vi.fn() } as unknown as LinkChannel
  return newHostLink(
    { linkId: `l-${peer.slice(0, 4)}`, peer, initiator: true, kind: 'memory', maxFrameSize: 65536 },
    now,
    () => channel,
  )
}

afterEach(() => {
  vi.useRealTimers()
})

describe('the per-peer record', () => {
  it('is made once, on first need, with everything a peer has', () => {
    const t = new PeerTable(deliveryLimits)
    expect(t.find(A)).toBeUndefined()
    const a = t.of(A)
    expect(t.of(A)).toBe(a)
    expect(t.find(A)).toBe(a)
    expect(a).toMatchObject({ id: A, link: undefined, epoch: undefined, relinkTries: 0 })
    expect(a.delivery.peer).toBe(A)
    expect(a.unprocessed).toEqual({ units: 0, bytes: 0 })
    expect(a.history).toEqual({ firstSeen: undefined, handshakes: 0, failures: 0 })
    expect([...t.values()].map((p) => p.id)).toEqual([A])
  })

  it('counts ready peers as links are set, replaced and dropped', () => {
    const t = new PeerTable(deliveryLimits)
    const a = t.of(A)
    const b = t.of(B)
    const l1 = link(A)
    expect(t.setLink(a, l1)).toBeUndefined()
    expect(t.readyCount).toBe(1)
    const l2 = link(A)
    expect(t.setLink(a, l2)).toBe(l1)
    expect(t.readyCount).toBe(1)
    t.setLink(b, link(B))
    expect(t.readyCount).toBe(2)
    expect([...t.readyLinks()]).toEqual([l2, b.link])
    t.setLink(a, undefined)
    expect(t.readyCount).toBe(1)
    expect([...t.readyLinks()].map((l) => l.info.peer)).toEqual([B])
  })

  it('is dropped in one place, with its timers', () => {
    vi.useFakeTimers()
    const t = new PeerTable(deliveryLimits)
    const a = t.of(A)
    t.setLink(a, link(A))
    const fired = vi.fn()
    a.ackTimer = setTimeout(fired, 10) as unknown as HostPeer['ackTimer']
    a.relinkTimer = setTimeout(fired, 10) as unknown as HostPeer['relinkTimer']
    t.clear()
    vi.advanceTimersByTime(100)
    expect(fired).not.toHaveBeenCalled()
    expect(t.find(A)).toBeUndefined()
    expect(t.readyCount).toBe(0)
    expect(t.of(A)).not.toBe(a)
  })
})

describe('the journal', () => {
  it('without a store keeps nothing and touches no delivery state', () => {
    const t = new PeerTable(deliveryLimits)
    const d = t.of(A).delivery
    d.processed = 3n
    expect(noJournal.kept).toBeUndefined()
    noJournal.epoch(new Uint8Array(16))
    noJournal.processed(d)
    noJournal.accept(
      SID,
      { from: A, round: 1, kind: 'msg', broadcast: false },
      new Uint8Array(1),
      { stream: 's', seq: 0n, fresh: 'f' },
      0n,
    )
    noJournal.close()
    expect(d.journaled).toBe(0n)
  })

  it('with a store writes each record, once per processed mark, and nothing once stopped', () => {
    const store = createMemoryOutboxStore()
    const append = vi.spyOn(store, 'append')
    let running = true
    const j = storeJournal(store, () => running)
    expect(j.kept).toBe(store.load())
    const d = new PeerTable(deliveryLimits).of(A).delivery
    d.processed = 2n
    j.processed(d)
    j.processed(d) // nothing new: no second record
    expect(append.mock.calls.map(([r]) => r)).toEqual([{ type: 'processed', peer: A, next: 2 }])
    expect(d.journaled).toBe(2n)
    j.enqueue(
      new Uint8Array([9]),
      [{ peer: A, seq: 0 }],
      [
        { sessionId: SID, stream: A, seq: 4n },
        { sessionId: SID, stream: A, seq: 5n },
      ],
    )
    expect(append.mock.calls[1]![0]).toMatchObject({
      type: 'enqueue',
      stream: A,
      streamSeq: 4,
      to: [{ peer: A, seq: 0 }],
      more: [{ sessionId: SID, stream: A, streamSeq: 5 }],
    })
    j.accept(
      SID,
      { from: A, round: 1, kind: 'msg', broadcast: false },
      new Uint8Array(1),
      { stream: 's', seq: 7n, fresh: 'f' },
      undefined,
    )
    expect(append.mock.calls[2]![0]).toMatchObject({ type: 'accept', replaySeq: 7, deliverySeq: -1 })
    running = false
    j.end(SID)
    expect(append).toHaveBeenCalledTimes(3)
  })
})

describe('the link table', () => {
  it('smooths RTT and the latency score from pongs, ignoring impossible ones', () => {
    const l = link(A)
    onPong(l, 1000n, 1100)
    expect(l.rttMs).toBe(100)
    expect(l.latencyScore).toBeCloseTo(0.8 + 0.2 * 0.9)
    onPong(l, 2000n, 2300)
    expect(l.rttMs).toBeCloseTo(0.8 * 100 + 0.2 * 300)
    onPong(l, 5000n, 4000) // from the future
    expect(l.rttMs).toBeCloseTo(140)
  })

  it('scores health from reliability, latency and uptime', () => {
    const t = new PeerTable(deliveryLimits)
    const p = t.of(A)
    const l = link(A)
    noteLink(p, 'handshake', 0)
    expect(health(p, l, 0)).toBeCloseTo(0.4 + 0.3 + 0.15)
    noteLink(p, 'failure', 10)
    expect(p.history.firstSeen).toBe(0)
    expect(health(p, l, 3_600_000)).toBeCloseTo(0.4 * 0.5 + 0.3 + 0.3)
  })

  it('asks for a link while units wait, backing off 250 ms → 10 s, and stops once one is ready', () => {
    vi.useFakeTimers()
    const t = new PeerTable(deliveryLimits)
    const p = t.of(A)
    const asked: number[] = []
    const ask = { stopped: () => false, requestLink: () => asked.push(Date.now()) }
    relinkLater(p, ask)
    expect(p.relinkTimer).toBeUndefined() // nothing waits
    p.delivery.enqueue(new Uint8Array(1))
    const start = Date.now()
    relinkLater(p, ask)
    relinkLater(p, ask) // one timer at a time
    vi.advanceTimersByTime(250 + 500 + 1000 + 2000)
    expect(asked.map((at) => at - start)).toEqual([250, 750, 1750, 3750])
    vi.advanceTimersByTime(4000 + 8000 + 10_000)
    expect(asked.map((at) => at - start).slice(4)).toEqual([7750, 15750, 25750])
    t.setLink(p, link(A))
    vi.advanceTimersByTime(60_000)
    expect(asked).toHaveLength(7)
  })
})

describe('next turn', () => {
  for (const [name, turn] of [
    ['MessageChannel', createMessageChannelTurn()],
    ['setImmediate', setImmediateTurn],
  ] as const) {
    it(`${name}: runs after this turn's microtasks, in call order`, async () => {
      const seen: string[] = []
      const done = new Promise<void>((resolve) => {
        turn(() => seen.push('turn 1'))
        turn(() => {
          seen.push('turn 2')
          resolve()
        })
      })
      queueMicrotask(() => seen.push('microtask'))
      seen.push('now')
      await done
      expect(seen).toEqual(['now', 'microtask', 'turn 1', 'turn 2'])
    })
  }
})
