import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, connectRaw, once, party, request, settle, startServer } from './harness.ts'

afterEach(cleanup)

describe('limits', () => {
  it('refuses events over the rate with RATE_LIMITED', async () => {
    const { url, server } = await startServer({ eventsPerSecond: 5, eventBurst: 5, maxViolations: 100 })
    const a = await party(url) // register = 1 event
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => request<{ ok: boolean; code?: string }>(a.socket, 'heartbeat', {})),
    )
    const codes = answers.map((r) => (r.ok ? 'ok' : r.code))
    expect(codes.filter((c) => c === 'ok').length).toBeLessThanOrEqual(4)
    expect(codes).toContain('RATE_LIMITED')
    expect(server.metrics.rejections.get('RATE_LIMITED')).toBeGreaterThan(0)
  })

  it('refuses relay bytes over the byte rate with RATE_LIMITED', async () => {
    const { url } = await startServer({ relayBytesPerSecond: 1000, maxPayloadBytes: 1500 })
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const error = once<{ code: string; event?: string }>(a.socket, 'error')
    for (let i = 0; i < 3; i++)
      a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array(1500) })
    expect(await error).toMatchObject({ code: 'RATE_LIMITED', event: 'relay' })
  })

  it('cuts a socket that keeps violating with ABUSE', async () => {
    const { url, server } = await startServer({ eventsPerSecond: 2, eventBurst: 2, maxViolations: 3 })
    const a = await party(url)
    const closed = once<string>(a.socket, 'disconnect')
    for (let i = 0; i < 10; i++) a.socket.emit('heartbeat', {})
    expect(await closed).toBe('io server disconnect')
    expect(a.errors.map((e) => e.code)).toContain('ABUSE')
    expect(server.metrics.rejections.get('ABUSE')).toBe(1)
  })

  it('refuses a relay frame over maxPayloadBytes with PAYLOAD_TOO_LARGE', async () => {
    const { url, server } = await startServer({ maxPayloadBytes: 1024 })
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const received: unknown[] = []
    b.socket.on('relay', (m) => received.push(m))
    const error = once<{ code: string }>(a.socket, 'error')
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array(1025) })
    expect((await error).code).toBe('PAYLOAD_TOO_LARGE')
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array(1024) })
    await settle()
    expect(received).toHaveLength(1)
    expect(server.metrics.rejections.get('PAYLOAD_TOO_LARGE')).toBe(1)
  })

  it('refuses signal data over maxPayloadBytes with PAYLOAD_TOO_LARGE', async () => {
    const { url } = await startServer({ maxPayloadBytes: 1024 })
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const data = { linkId: 'l', attempt: 0, kind: 'offer', payload: { sdp: 'x'.repeat(2000) } }
    const res = await request<{ code?: string }>(a.socket, 'signal', {
      room: 'room1',
      to: b.id.partyId,
      data,
    })
    expect(res.code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('cuts the connection when one packet exceeds the payload limit plus overhead', async () => {
    const { url } = await startServer({ maxPayloadBytes: 1024, payloadOverheadBytes: 1024 })
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const closed = once<string>(a.socket, 'disconnect')
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array(64 * 1024) })
    expect(await closed).toBe('transport close')
  })

  it('refuses more rooms than roomsPerSocket with TOO_MANY_ROOMS', async () => {
    const { url } = await startServer({ roomsPerSocket: 2 })
    const a = await party(url, 'r1', 'r2')
    expect((await request<{ code?: string }>(a.socket, 'join', { room: 'r3' })).code).toBe('TOO_MANY_ROOMS')
    // Rejoining a room it is in is still fine, and leaving frees a slot.
    expect((await request<{ ok: boolean }>(a.socket, 'join', { room: 'r2' })).ok).toBe(true)
    await request(a.socket, 'leave', { room: 'r1' })
    expect((await request<{ ok: boolean }>(a.socket, 'join', { room: 'r3' })).ok).toBe(true)
  })

  it('refuses more parties than partiesPerRoom with ROOM_FULL', async () => {
    const { url } = await startServer({ partiesPerRoom: 2 })
    await party(url, 'room1')
    await party(url, 'room1')
    const c = await party(url)
    expect((await request<{ code?: string }>(c.socket, 'join', { room: 'room1' })).code).toBe('ROOM_FULL')
    expect((await request<{ ok: boolean }>(c.socket, 'join', { room: 'room2' })).ok).toBe(true)
  })

  it('cuts a registered socket silent for heartbeatTimeoutMs with HEARTBEAT_TIMEOUT', async () => {
    const { url, server } = await startServer({ heartbeatTimeoutMs: 1000 })
    const a = await party(url, 'room1')
    const closed = once(a.socket, 'disconnect', 5000)
    await closed
    expect(a.errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT'])
    expect(await server.registry.nodes()).toEqual([])
  })

  it('keeps a registered socket that heartbeats', async () => {
    const { url } = await startServer({ heartbeatTimeoutMs: 1000 })
    const a = await party(url)
    const timer = setInterval(() => a.socket.emit('heartbeat', {}), 200)
    await settle(1600)
    clearInterval(timer)
    expect(a.socket.connected).toBe(true)
  })

  it('refuses a raw socket flooding before registering, then cuts it', async () => {
    const { url } = await startServer({ eventsPerSecond: 1, eventBurst: 1, maxViolations: 2 })
    const raw = await connectRaw(url)
    const closed = once(raw.socket, 'disconnect')
    for (let i = 0; i < 6; i++) raw.socket.emit('join', { room: 'x' })
    await closed
    expect(raw.errors.map((e) => e.code)).toContain('ABUSE')
  })
})
