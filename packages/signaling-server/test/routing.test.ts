import type { PresenceEvent, RelayEvent, SignalEvent } from '@conclave/core/signaling'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, collect, once, party, request, settle, startServer } from './harness.ts'

afterEach(cleanup)

const data = { linkId: 'a:b', attempt: 2, kind: 'offer', payload: { type: 'offer', sdp: 'v=0' } }

describe('presence', () => {
  it('tells the others of a room when a party joins, leaves, or disconnects', async () => {
    const { url } = await startServer()
    const a = await party(url, 'room1')
    const events = collect<PresenceEvent>(a.socket, 'presence')
    const b = await party(url)
    const joined = await request<{ ok: boolean; peers: { partyId: string }[] }>(b.socket, 'join', {
      room: 'room1',
    })
    expect(joined.ok).toBe(true)
    expect(joined.peers.map((p) => p.partyId)).toEqual([a.id.partyId])
    expect(await request(b.socket, 'leave', { room: 'room1' })).toEqual({ ok: true })
    await request(b.socket, 'join', { room: 'room1' })
    b.socket.disconnect()
    await settle(300)
    expect(events.map((e) => [e.room, e.event, e.party.partyId])).toEqual([
      ['room1', 'joined', b.id.partyId],
      ['room1', 'left', b.id.partyId],
      ['room1', 'joined', b.id.partyId],
      ['room1', 'left', b.id.partyId],
    ])
    expect(typeof events[0]?.party.lastSeen).toBe('number')
  })

  it('does not announce presence to other rooms, nor to the joiner itself', async () => {
    const { url } = await startServer()
    const other = await party(url, 'room2')
    const otherEvents = collect(other.socket, 'presence')
    const b = await party(url)
    const own = collect(b.socket, 'presence')
    await request(b.socket, 'join', { room: 'room1' })
    await settle()
    expect(otherEvents).toEqual([])
    expect(own).toEqual([])
  })

  it('joining a room twice is one membership and one announcement', async () => {
    const { url, server } = await startServer()
    const a = await party(url, 'room1')
    const events = collect(a.socket, 'presence')
    const b = await party(url, 'room1')
    expect((await request<{ ok: boolean }>(b.socket, 'join', { room: 'room1' })).ok).toBe(true)
    await settle()
    expect(events).toHaveLength(1)
    expect((await server.registry.stats()).memberships).toBe(2)
  })

  it('refuses bad room names with BAD_PAYLOAD', async () => {
    const { url } = await startServer()
    const a = await party(url)
    for (const room of ['', 'a b', 'x'.repeat(65), 'ünï', 42, null]) {
      expect((await request<{ code?: string }>(a.socket, 'join', { room })).code).toBe('BAD_PAYLOAD')
    }
  })
})

describe('signal', () => {
  it('reaches only the addressee, with `from` stamped by the server', async () => {
    const { url, server } = await startServer()
    const [a, b, c] = await Promise.all([party(url, 'room1'), party(url, 'room1'), party(url, 'room1')])
    const atC = collect(c.socket, 'signal')
    const atA = collect(a.socket, 'signal')
    const received = once<SignalEvent>(b.socket, 'signal')
    // A forged `from` in the request is ignored.
    const ack = await request(a.socket, 'signal', {
      room: 'room1',
      to: b.id.partyId,
      data,
      from: c.id.partyId,
    })
    expect(ack).toEqual({ ok: true })
    expect(await received).toEqual({ room: 'room1', from: a.id.partyId, data })
    await settle()
    expect(atC).toEqual([])
    expect(atA).toEqual([])
    expect(server.metrics.counters.signalsRelayed).toBe(1)
  })

  it('forwards only the known fields of signal data', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const received = once<SignalEvent>(b.socket, 'signal')
    await request(a.socket, 'signal', { room: 'room1', to: b.id.partyId, data: { ...data, extra: 'x' } })
    expect((await received).data).toEqual(data)
  })

  it('is not forwarded across rooms (PEER_NOT_IN_ROOM, NOT_IN_ROOM)', async () => {
    const { url, server } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room2')])
    const atB = collect(b.socket, 'signal')
    const toOtherRoom = await request<{ code?: string }>(a.socket, 'signal', {
      room: 'room1',
      to: b.id.partyId,
      data,
    })
    expect(toOtherRoom.code).toBe('PEER_NOT_IN_ROOM')
    const viaTheirRoom = await request<{ code?: string }>(a.socket, 'signal', {
      room: 'room2',
      to: b.id.partyId,
      data,
    })
    expect(viaTheirRoom.code).toBe('NOT_IN_ROOM')
    await settle()
    expect(atB).toEqual([])
    expect(server.metrics.counters.signalsRelayed).toBe(0)
    expect(server.metrics.rejections.get('PEER_NOT_IN_ROOM')).toBe(1)
  })

  it('stops after the addressee leaves the room', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    await request(b.socket, 'leave', { room: 'room1' })
    const res = await request<{ code?: string }>(a.socket, 'signal', {
      room: 'room1',
      to: b.id.partyId,
      data,
    })
    expect(res.code).toBe('PEER_NOT_IN_ROOM')
  })

  it('refuses malformed signal data and signals to oneself with BAD_PAYLOAD', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const to = b.id.partyId
    const bad = [
      { room: 'room1', to, data: { ...data, kind: 'nonsense' } },
      { room: 'room1', to, data: { ...data, attempt: -1 } },
      { room: 'room1', to, data: { ...data, linkId: '' } },
      { room: 'room1', to: to.toUpperCase(), data },
      { room: 'room1', to: a.id.partyId, data },
      { room: 'room1', to, data: { ...data, payload: new Uint8Array(4) } },
    ]
    for (const req of bad) {
      expect((await request<{ code?: string }>(a.socket, 'signal', req)).code).toBe('BAD_PAYLOAD')
    }
  })
})

describe('relay', () => {
  it('forwards opaque frames to the addressee only, with `from` stamped', async () => {
    const { url, server } = await startServer()
    const [a, b, c] = await Promise.all([party(url, 'room1'), party(url, 'room1'), party(url, 'room1')])
    const atC = collect(c.socket, 'relay')
    const received = once<RelayEvent>(b.socket, 'relay')
    const frame = new Uint8Array(1000).map((_, i) => i % 251)
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame })
    const got = await received
    expect(got.room).toBe('room1')
    expect(got.from).toBe(a.id.partyId)
    expect(new Uint8Array(got.frame as Uint8Array)).toEqual(frame)
    await settle()
    expect(atC).toEqual([])
    expect(server.metrics.counters.relayFrames).toBe(1)
    expect(server.metrics.counters.relayBytes).toBe(1000)
  })

  it('accepts an ArrayBuffer frame', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const received = once<RelayEvent>(b.socket, 'relay')
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array([9, 8, 7]).buffer })
    expect([...new Uint8Array((await received).frame as Uint8Array)]).toEqual([9, 8, 7])
  })

  it('is not forwarded across rooms: error event PEER_NOT_IN_ROOM naming room and addressee', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room2')])
    const atB = collect(b.socket, 'relay')
    const error = once<{ code: string; event?: string; room?: string; to?: string }>(a.socket, 'error')
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array([1]) })
    expect(await error).toMatchObject({
      code: 'PEER_NOT_IN_ROOM',
      event: 'relay',
      room: 'room1',
      to: b.id.partyId,
    })
    await settle()
    expect(atB).toEqual([])
  })

  it('refuses a frame that is not bytes with BAD_PAYLOAD', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const error = once<{ code: string }>(a.socket, 'error')
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: 'not bytes' })
    expect((await error).code).toBe('BAD_PAYLOAD')
  })
})

describe('heartbeat', () => {
  it('records health and last seen in the registry', async () => {
    const { url, server } = await startServer()
    const a = await party(url, 'room1')
    expect(await request(a.socket, 'heartbeat', { health: 0.75 })).toEqual({ ok: true })
    const [node] = await server.registry.nodes()
    expect(node?.health).toBe(0.75)
    expect(node?.lastSeen).toBeGreaterThan(Date.now() - 5000)
    expect((await request<{ code?: string }>(a.socket, 'heartbeat', { health: 2 })).code).toBe('BAD_PAYLOAD')
  })
})
