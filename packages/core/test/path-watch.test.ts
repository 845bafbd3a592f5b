/**
 * A lost path comes back fast (issue #20), the parts without a network: the path watch of a
 * webrtc link (`src/transport/path-watch.ts`) on a scripted RTCPeerConnection, the connection
 * manager's `retryNow`, the page lifecycle and Node network sources of path hints, and how a room
 * party follows them only while started. (Real connections in network namespaces:
 * packages/node-party/test/relink.node.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createNobleBackend } from '../src/entries/crypto.ts'
import { createRoomParty, errorCode, generateIdentity, type PartyId } from '../src/index.ts'
import { watchPageLifecycle } from '../src/room/page-lifecycle.ts'
import { withPathHints } from '../src/room/path-hints.ts'
import type { RoomParty } from '../src/room/types.ts'
import { ConnectionManager, type DialRecord } from '../src/transport/connection-manager.ts'
import {
  checkPathWatchOptions,
  localPathAddress,
  normalizeAddress,
  PathWatch,
  pathState,
} from '../src/transport/path-watch.ts'
import type { PathHint, Transport } from '../src/transport/types.ts'
import { createWebRtcTransport } from '../src/transport/webrtc.ts'
import { WebRtcLink } from '../src/transport/webrtc-link.ts'

/** An RTCPeerConnection's states and events, scripted, with stats naming the pair in use. */
class FakeConnection extends EventTarget {
  connectionState = 'connected'
  iceConnectionState = 'connected'
  localCandidate: Record<string, unknown> = { candidateType: 'host', address: '10.77.0.1' }

  set(connection: string, ice: string): void {
    this.connectionState = connection
    this.iceConnectionState = ice
    this.dispatchEvent(new Event('connectionstatechange'))
    this.dispatchEvent(new Event('iceconnectionstatechange'))
  }

  async getStats(): Promise<{ values(): Iterable<unknown> }> {
    const stats = [
      { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP1' },
      { id: 'CP0', type: 'candidate-pair', localCandidateId: 'L0', nominated: true, state: 'failed' },
      { id: 'CP1', type: 'candidate-pair', localCandidateId: 'L1', nominated: true, state: 'succeeded' },
      { id: 'L0', type: 'local-candidate', candidateType: 'host', address: '192.0.2.9' },
      { id: 'L1', type: 'local-candidate', ...this.localCandidate },
    ]
    return new Map(stats.map((s) => [s.id, s]))
  }
}

const network = (addresses: string[], added: string[]): PathHint => ({
  reason: 'network',
  addresses: new Set(addresses),
  added: new Set(added),
})

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('path watch of a webrtc link', () => {
  function watch(graceMs = 2000) {
    const pc = new FakeConnection()
    const lost: string[] = []
    const w = new PathWatch(pc, graceMs, (reason) => lost.push(reason))
    w.start()
    return { pc, lost, w }
  }

  it('ends the link at once when its connection fails', () => {
    const { pc, lost } = watch()
    pc.set('failed', 'disconnected')
    expect(lost).toHaveLength(1)
    expect(lost[0]).toContain('connection failed')
    pc.set('failed', 'failed')
    expect(lost).toHaveLength(1) // once
  })

  it('ends the link once it stays disconnected past the grace, not before', () => {
    const { pc, lost } = watch(2000)
    pc.set('disconnected', 'disconnected')
    vi.advanceTimersByTime(1999)
    expect(lost).toEqual([])
    vi.advanceTimersByTime(1)
    expect(lost).toEqual(['connection disconnected, ICE disconnected for 2000 ms'])
  })

  it('keeps a link whose connection comes back within the grace', () => {
    const { pc, lost } = watch(2000)
    pc.set('disconnected', 'disconnected')
    vi.advanceTimersByTime(1500)
    pc.set('connected', 'connected')
    vi.advanceTimersByTime(10_000)
    expect(lost).toEqual([])
    // a later disconnection gets a whole grace of its own
    pc.set('connected', 'disconnected')
    vi.advanceTimersByTime(1999)
    expect(lost).toEqual([])
    vi.advanceTimersByTime(1)
    expect(lost).toHaveLength(1)
  })

  it('says nothing once stopped (the link closed), and stops listening', () => {
    const { pc, lost, w } = watch(2000)
    pc.set('disconnected', 'disconnected')
    w.stop()
    vi.advanceTimersByTime(5000)
    pc.set('failed', 'failed')
    expect(lost).toEqual([])
  })

  it('ends a link whose local address went away once another address came', async () => {
    const { lost, w } = watch()
    // the address of the pair in use is still there: kept
    w.check(network(['127.0.0.1', '10.77.0.1', '10.77.0.3'], ['10.77.0.3']))
    // gone, and nothing new (a cable pulled, a veth down): kept, the path may come back
    w.check(network(['127.0.0.1'], []))
    await vi.runAllTimersAsync()
    expect(lost).toEqual([])
    // gone while another came: the machine moved to another network
    w.check(network(['127.0.0.1', '10.77.0.3'], ['10.77.0.3']))
    await vi.runAllTimersAsync()
    expect(lost).toEqual(['its local address 10.77.0.1 is gone and 10.77.0.3 came (network changed)'])
  })

  it('judges no address it cannot know, and no hint without addresses', async () => {
    const { pc, lost, w } = watch()
    pc.localCandidate = { candidateType: 'relay', address: '203.0.113.5', relatedAddress: '198.51.100.7' }
    w.check(network(['10.77.0.3'], ['10.77.0.3']))
    pc.localCandidate = { candidateType: 'host', address: '4a8c1f0e-1b2a.local' }
    w.check(network(['10.77.0.3'], ['10.77.0.3']))
    pc.localCandidate = { candidateType: 'host', address: '10.77.0.1' }
    w.check({ reason: 'network' }) // the browser's `online`: no addresses
    w.check({ reason: 'resumed' })
    pc.set('disconnected', 'disconnected') // at a hint, a disconnected link keeps its grace
    w.check(network(['10.77.0.1'], ['10.77.0.9']))
    await vi.advanceTimersByTimeAsync(1999)
    expect(lost).toEqual([])
  })

  it('reads the local address of the pair in use (its base for a reflexive candidate)', async () => {
    const pc = new FakeConnection()
    expect(await localPathAddress(pc)).toBe('10.77.0.1')
    pc.localCandidate = { candidateType: 'srflx', address: '203.0.113.5', relatedAddress: '192.168.1.20' }
    expect(await localPathAddress(pc)).toBe('192.168.1.20')
    pc.localCandidate = { candidateType: 'host', ip: 'FE80::1%eth0' } // older stats name it `ip`
    expect(await localPathAddress(pc)).toBe('fe80::1')
    expect(await localPathAddress({})).toBeUndefined()
    expect(await localPathAddress({ getStats: () => Promise.reject(new Error('closed')) })).toBeUndefined()
    expect(normalizeAddress('[2001:DB8::1]')).toBe('2001:db8::1')
  })

  it('reads failed before disconnected from either state', () => {
    expect(pathState({ connectionState: 'connected', iceConnectionState: 'completed' })).toBe('up')
    expect(pathState({ connectionState: 'disconnected', iceConnectionState: 'connected' })).toBe(
      'disconnected',
    )
    expect(pathState({ connectionState: 'failed', iceConnectionState: 'disconnected' })).toBe('failed')
    expect(pathState({ iceConnectionState: 'failed' })).toBe('failed')
  })

  it('refuses a grace that is not an integer from 0 to 2^31 - 1, at the transport too', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, '2000' as unknown as number]) {
      let caught: unknown
      try {
        checkPathWatchOptions({ disconnectGraceMs: bad })
      } catch (e) {
        caught = e
      }
      expect(errorCode(caught)).toBe('INVALID_ARGUMENT')
    }
    checkPathWatchOptions({ disconnectGraceMs: 0 })
    checkPathWatchOptions({})
    const signaling = {} as Parameters<typeof createWebRtcTransport>[0]['signaling']
    const SimplePeer = class {} as unknown as Parameters<typeof createWebRtcTransport>[0]['SimplePeer']
    expect(() => createWebRtcTransport({ signaling, room: 'r', SimplePeer, disconnectGraceMs: -5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})

describe('webrtc link', () => {
  it('closes itself with PATH_LOST when its path is gone, and tells its owner', () => {
    const pc = new FakeConnection()
    const sp = { _pc: pc, _channel: null, destroyed: false } as unknown as ConstructorParameters<
      typeof WebRtcLink
    >[3]
    const owner: string[] = []
    const link = new WebRtcLink(
      'a'.repeat(64) as PartyId,
      true,
      65536,
      sp,
      { local: [], remote: [] },
      (_l, code, reason) => owner.push(`${code}: ${reason}`),
      () => undefined,
      500,
    )
    const closes: string[] = []
    link.onClose((code) => closes.push(code))
    pc.set('disconnected', 'disconnected')
    vi.advanceTimersByTime(500)
    expect(link.closed).toBe(true)
    expect(closes).toEqual(['PATH_LOST'])
    expect(owner).toEqual(['PATH_LOST: path lost: connection disconnected, ICE disconnected for 500 ms'])
  })

  it('stops watching once its owner closed it', () => {
    const pc = new FakeConnection()
    const sp = { _pc: pc, _channel: null, destroyed: false } as unknown as ConstructorParameters<
      typeof WebRtcLink
    >[3]
    const owner: string[] = []
    const link = new WebRtcLink(
      'a'.repeat(64) as PartyId,
      true,
      65536,
      sp,
      { local: [], remote: [] },
      (_l, code) => owner.push(code),
      () => undefined,
    )
    link.markClosed('LINK_CLOSED', 'torn down by its owner')
    pc.set('failed', 'failed')
    expect(owner).toEqual([])
  })
})

describe('connection manager: retryNow', () => {
  const local = `${'0'.repeat(63)}1` as PartyId
  const peerA = 'a'.repeat(64) as PartyId
  const peerB = 'b'.repeat(64) as PartyId

  it('dials every wanted peer waiting out a backoff now, keeping its count', () => {
    const dials: PartyId[] = []
    const m = new ConnectionManager<DialRecord & { underWay: boolean }>(
      {
        create: () => ({ underWay: false }),
        busy: (r) => r.underWay,
        dial: (r) => {
          r.underWay = true
          dials.push(r.peer)
        },
        abandon: (r) => {
          r.underWay = false
        },
        left: () => undefined,
      },
      { backoff: { initialMs: 5000, jitter: 0 }, running: () => true, local: () => local },
    )
    m.want(peerA)
    m.want(peerB)
    expect(dials).toEqual([peerA, peerB])
    for (const peer of [peerA, peerB]) {
      const r = m.record(peer)
      r.underWay = false
      m.retry(r, 'PATH_LOST', 'test')
    }
    // B is dialled again by hand (busy): only A waits out its backoff
    m.want(peerB, true)
    expect(dials).toEqual([peerA, peerB, peerB])
    m.retryNow()
    expect(dials).toEqual([peerA, peerB, peerB, peerA])
    expect(m.record(peerA).failures).toBe(1) // kept: the next failure backs off further
    vi.advanceTimersByTime(10_000)
    expect(dials).toHaveLength(4) // the cancelled backoff does not dial again
  })
})

describe('path hint sources', () => {
  it('turns a page lifecycle into hints: online, bfcache restore, resume, visible', () => {
    const win = new EventTarget()
    const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' })
    const hints: PathHint['reason'][] = []
    const stop = watchPageLifecycle({ window: win, document: doc })((h) => hints.push(h.reason))
    win.dispatchEvent(new Event('online'))
    win.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false })) // a fresh load
    win.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }))
    doc.dispatchEvent(new Event('freeze'))
    doc.dispatchEvent(new Event('resume'))
    doc.dispatchEvent(new Event('visibilitychange')) // hidden
    doc.visibilityState = 'visible'
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(hints).toEqual(['network', 'resumed', 'resumed', 'resumed'])
    stop()
    win.dispatchEvent(new Event('online'))
    doc.dispatchEvent(new Event('resume'))
    expect(hints).toHaveLength(4)
  })

  it('refuses pageLifecycle targets without addEventListener, before anything starts', async () => {
    vi.useRealTimers()
    const identity = await generateIdentity(createNobleBackend())
    for (const pageLifecycle of [{}, { window: {} }, null, 'window']) {
      const made = createRoomParty({
        signaling: 'http://127.0.0.1:9',
        room: 'r',
        identity,
        pageLifecycle: pageLifecycle as never,
      })
      await expect(made).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    }
  })

  it('follows a source only while the room party is started', async () => {
    const hints: PathHint[] = []
    const transport = { pathHint: (h: PathHint) => hints.push(h) } as unknown as Transport
    let started = 0
    let stopped = 0
    const room = {
      transport,
      start: async () => {
        started++
      },
      stop: async () => {
        stopped++
      },
      restored: () => [],
    } as unknown as RoomParty
    let emit: ((h: PathHint) => void) | undefined
    const wrapped = withPathHints(room, (hint) => {
      emit = hint
      return () => {
        emit = undefined
      }
    })
    expect(emit).toBeUndefined() // not before start
    await wrapped.start()
    emit?.({ reason: 'resumed' })
    await wrapped.stop()
    expect(emit).toBeUndefined()
    expect({ started, stopped, hints }).toEqual({ started: 1, stopped: 1, hints: [{ reason: 'resumed' }] })
    expect(withPathHints(room, undefined)).toBe(room)
  })
})
