/**
 * The connection manager (`src/transport/connection-manager.ts`) on a scripted path and fake
 * timers: wanting, backoff, giving up, persistent peers, waits that do not count, presence.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LinkStateEvent } from '../src/entries/transport.ts'
import type { PartyId } from '../src/index.ts'
import type { SignalingClientEvents } from '../src/signaling/client-types.ts'
import { ConnectionManager, type DialPolicy, type DialRecord } from '../src/transport/connection-manager.ts'

const local = `${'0'.repeat(63)}1` as PartyId
const peerA = `${'a'.repeat(64)}` as PartyId
const peerB = `${'b'.repeat(64)}` as PartyId

interface Rec extends DialRecord {
  underWay: boolean
}

/** A manager over a path that records its dials and never succeeds by itself. */
function setup(policy: DialPolicy & { autoConnect?: boolean } = {}) {
  const dials: PartyId[] = []
  const abandoned: PartyId[] = []
  const left: PartyId[] = []
  const states: LinkStateEvent[] = []
  let running = true
  const m = new ConnectionManager<Rec>(
    {
      create: () => ({ underWay: false }),
      busy: (r) => r.underWay,
      dial: (r) => {
        r.attempt++
        r.underWay = true
        dials.push(r.peer)
      },
      abandon: (r) => {
        r.underWay = false
        abandoned.push(r.peer)
      },
      left: (r) => left.push(r.peer),
    },
    {
      backoff: { initialMs: 100, maxMs: 1000, jitter: 0 },
      ...policy,
      running: () => running,
      local: () => local,
    },
  )
  m.onState((ev) => states.push(ev))
  /** The attempt under way for `peer` failed. */
  const fail = (peer: PartyId, counts = true) => {
    const r = m.record(peer)
    r.underWay = false
    m.retry(r, 'PEER_UNREACHABLE', 'test', counts)
  }
  const stop = (): void => {
    running = false
  }
  return { m, dials, abandoned, left, states, fail, stop }
}

/** A signaling client's `on`, driven by the test. */
function fakeSignaling() {
  const handlers = new Map<string, Set<(v: never) => void>>()
  return {
    on<K extends keyof SignalingClientEvents>(event: K, h: (v: SignalingClientEvents[K]) => void) {
      const set = handlers.get(event) ?? new Set()
      handlers.set(event, set)
      set.add(h as (v: never) => void)
      return () => set.delete(h as (v: never) => void)
    },
    emit<K extends keyof SignalingClientEvents>(event: K, v: SignalingClientEvents[K]) {
      for (const h of handlers.get(event) ?? []) (h as (x: SignalingClientEvents[K]) => void)(v)
    },
  }
}

const presence = (peer: PartyId, event: 'joined' | 'left') =>
  ({ room: 'r', event, party: { partyId: peer } }) as unknown as SignalingClientEvents['presence']

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('connection manager', () => {
  it('dials a wanted peer once, never itself, and not while an attempt is under way', () => {
    const { m, dials } = setup()
    m.want(peerA)
    m.want(peerA)
    m.want(local)
    expect(dials).toEqual([peerA])
  })

  it('retries with exponential backoff, then gives up after maxAttempts', () => {
    const { m, dials, fail, states, abandoned } = setup({ maxAttempts: 2 })
    m.want(peerA)
    fail(peerA)
    expect(states.at(-1)).toMatchObject({ peer: peerA, state: 'backoff', retryInMs: 100 })
    vi.advanceTimersByTime(100)
    expect(dials).toHaveLength(2)
    fail(peerA)
    expect(states.at(-1)).toMatchObject({ state: 'backoff', retryInMs: 200 })
    vi.advanceTimersByTime(200)
    fail(peerA)
    expect(states.at(-1)).toMatchObject({ state: 'closed', code: 'PEER_UNREACHABLE' })
    expect(states.at(-1)?.reason).toMatch(/gave up after 2 attempts/)
    expect(m.get(peerA)?.wanted).toBe(false)
    expect(abandoned).toEqual([peerA])
    vi.advanceTimersByTime(10_000)
    expect(dials).toHaveLength(3)
  })

  it('retries persistent peers (the roster) forever', () => {
    const { m, dials, fail, states } = setup({ maxAttempts: 1, persistentPeers: new Set([peerA]) })
    m.want(peerA)
    for (let i = 0; i < 8; i++) {
      fail(peerA)
      vi.advanceTimersByTime(1000)
    }
    expect(dials).toHaveLength(9)
    expect(states.some((s) => s.state === 'closed')).toBe(false)
  })

  it('does not count attempts that waited for the peer to join, and backs them off on their own count', () => {
    const { m, dials, fail, states } = setup({ maxAttempts: 1 })
    m.want(peerA)
    for (let i = 0; i < 5; i++) {
      fail(peerA, false)
      vi.advanceTimersByTime(1000)
    }
    expect(dials).toHaveLength(6)
    expect(states.filter((s) => s.state === 'backoff').map((s) => s.retryInMs)).toEqual([
      100, 200, 400, 800, 1000,
    ])
    expect(m.get(peerA)?.failures).toBe(0)
  })

  it('want(now) cancels a pending retry and dials at once; want() leaves it', () => {
    const { m, dials, fail } = setup()
    m.want(peerA)
    fail(peerA)
    m.want(peerA)
    expect(dials).toHaveLength(1)
    m.want(peerA, true)
    expect(dials).toHaveLength(2)
    m.record(peerA).underWay = false
    vi.advanceTimersByTime(10_000) // the cancelled retry does not fire
    expect(dials).toHaveLength(2)
  })

  it('connect() after giving up starts a fresh count', () => {
    const { m, dials, fail, states } = setup({ maxAttempts: 1 })
    m.want(peerA)
    fail(peerA)
    vi.advanceTimersByTime(100)
    fail(peerA)
    expect(m.get(peerA)?.wanted).toBe(false)
    m.connect(peerA, false)
    expect(dials).toHaveLength(3)
    fail(peerA)
    expect(states.at(-1)?.state).toBe('backoff')
  })

  it('a failure of an unwanted peer, or after stop, is reported closed and not retried', () => {
    const { m, dials, fail, states, stop } = setup()
    m.want(peerA)
    m.release(m.record(peerA))
    fail(peerA)
    expect(states.at(-1)).toMatchObject({ state: 'closed', code: 'PEER_UNREACHABLE' })
    m.want(peerB)
    stop()
    fail(peerB)
    expect(states.at(-1)).toMatchObject({ peer: peerB, state: 'closed' })
    vi.advanceTimersByTime(10_000)
    expect(dials).toEqual([peerA, peerB])
  })

  it('follows presence: a joined peer is dialled at once with a fresh count; a left one goes to the path', () => {
    const sig = fakeSignaling()
    const { m, dials, fail, left } = setup({ maxAttempts: 3 })
    const off = m.watchRoom(sig, 'r')
    m.want(peerA)
    fail(peerA)
    fail(peerA)
    expect(m.get(peerA)?.failures).toBe(2)
    sig.emit('presence', presence(peerA, 'joined'))
    expect(dials).toEqual([peerA, peerA])
    expect(m.get(peerA)?.failures).toBe(0)
    sig.emit('presence', presence(peerB, 'joined')) // autoConnect: every party is wanted
    expect(dials).toEqual([peerA, peerA, peerB])
    sig.emit('presence', presence(peerB, 'left'))
    sig.emit('presence', { ...presence(peerB, 'left'), room: 'other' })
    expect(left).toEqual([peerB])
    off()
    sig.emit('presence', presence(peerB, 'left'))
    expect(left).toEqual([peerB])
  })

  it('without autoConnect, only wanted peers are dialled on presence and on joining the room', () => {
    const sig = fakeSignaling()
    const { m, dials } = setup({ autoConnect: false })
    let inRoom = 0
    m.watchRoom(sig, 'r', () => inRoom++)
    sig.emit('presence', presence(peerA, 'joined'))
    sig.emit('joined', { room: 'r', peers: [{ partyId: peerA }, { partyId: peerB }] } as never)
    expect(dials).toEqual([])
    expect(inRoom).toBe(1)
    m.record(peerB).wanted = true
    m.inRoom([])
    expect(dials).toEqual([peerB])
  })

  it('with autoConnect, joining the room wants every party in it (never itself)', () => {
    const { m, dials } = setup()
    m.inRoom([peerA, local, 'not-an-id', peerB])
    expect(dials).toEqual([peerA, peerB])
  })
})
