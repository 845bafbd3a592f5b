import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, connectRaw, identity, party, register, request, sample, startServer } from './harness.ts'

afterEach(cleanup)

const TOKEN = 'operator-token-0123456789abcdef'

describe('HTTP endpoints', () => {
  it('GET /healthz answers ok with the gauges', async () => {
    const { url } = await startServer()
    await party(url, 'room1')
    const res = await fetch(`${url}/healthz`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toMatchObject({
      status: 'ok',
      connectedSockets: 1,
      registeredParties: 1,
      rooms: 1,
    })
  })

  it('GET /metrics exports Prometheus text', async () => {
    const { url } = await startServer({ maxPayloadBytes: 100 })
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const data = { linkId: 'l', attempt: 0, kind: 'connect-request' }
    await request(a.socket, 'signal', { room: 'room1', to: b.id.partyId, data })
    await request(a.socket, 'signal', { room: 'nowhere', to: b.id.partyId, data })
    await request(a.socket, 'register', {})
    const res = await fetch(`${url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    const value = (name: string): number | undefined => sample(text, name)
    expect(text).toContain('# TYPE conclave_signal_connected_sockets gauge')
    expect(value('conclave_signal_connected_sockets')).toBe(2)
    expect(value('conclave_signal_registered_parties')).toBe(2)
    expect(value('conclave_signal_rooms')).toBe(1)
    expect(value('conclave_signal_signals_relayed_total')).toBe(1)
    expect(value('conclave_signal_relay_frames_total')).toBe(0)
    expect(value('conclave_signal_relay_bytes_total')).toBe(0)
    expect(value('conclave_signal_rejections_total{code="NOT_IN_ROOM"}')).toBe(1)
    expect(value('conclave_signal_rejections_total{code="ALREADY_REGISTERED"}')).toBe(1)
    expect(text).toContain('# TYPE conclave_signal_registration_failures_total counter')
  })

  it('counts registration failures by code', async () => {
    const { url } = await startServer()
    const a = await party(url)
    const raw = await connectRaw(url)
    await register(raw, await identity(), { signer: a.id })
    const text = await (await fetch(`${url}/metrics`)).text()
    expect(text).toContain('conclave_signal_registration_failures_total{code="BAD_SIGNATURE"} 1')
  })

  it('GET /metrics has the default process metrics, build info, and latency histograms', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([party(url, 'room1'), party(url, 'room1')])
    const data = { linkId: 'l', attempt: 0, kind: 'connect-request' }
    await request(a.socket, 'signal', { room: 'room1', to: b.id.partyId, data })
    a.socket.emit('relay', { room: 'room1', to: b.id.partyId, frame: new Uint8Array(10) })
    await new Promise<void>((resolve) => b.socket.once('relay', () => resolve()))
    const text = await (await fetch(`${url}/metrics`)).text()
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge')
    expect(text).toMatch(
      /^conclave_signal_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="v\d+[^"]*",signaling_versions="[\d,]+"\} 1$/m,
    )
    expect(text).toContain('# TYPE conclave_signal_registration_duration_seconds histogram')
    expect(sample(text, 'conclave_signal_registration_duration_seconds_count')).toBe(2)
    expect(sample(text, 'conclave_signal_relay_duration_seconds_count{event="signal"}')).toBe(1)
    expect(sample(text, 'conclave_signal_relay_duration_seconds_count{event="relay"}')).toBe(1)
    expect(sample(text, 'conclave_signal_relay_duration_seconds_bucket{le="+Inf",event="relay"}')).toBe(1)
    expect(sample(text, 'conclave_signal_registry_up')).toBe(1)
  })

  it('GET /livez and /readyz answer 200 for a running single-process server', async () => {
    const { url } = await startServer()
    const live = await fetch(`${url}/livez`)
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', store: 'none' })
  })

  it('GET /registry/stats counts parties, rooms and memberships', async () => {
    const { url } = await startServer()
    await party(url, 'room1', 'room2')
    await party(url, 'room1')
    const body = await (await fetch(`${url}/registry/stats`)).json()
    expect(body).toMatchObject({ parties: 2, rooms: 2, memberships: 3, largestRoom: 2, connectedSockets: 2 })
  })

  it('answers 404 elsewhere and 405 for other methods', async () => {
    const { url } = await startServer()
    expect((await fetch(`${url}/nope`)).status).toBe(404)
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(405)
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' })
    expect(head.status).toBe(200)
  })
})

describe('GET /registry/nodes (operator token)', () => {
  const nodes = (url: string, authorization?: string): Promise<Response> =>
    fetch(`${url}/registry/nodes`, {
      headers: { origin: 'https://elsewhere.example', ...(authorization ? { authorization } : {}) },
    })

  it('is off without a configured token: 403 REGISTRY_LISTING_OFF, whatever is presented', async () => {
    const { url } = await startServer()
    await party(url, 'room1')
    for (const auth of [undefined, `Bearer ${TOKEN}`]) {
      const res = await nodes(url, auth)
      expect(res.status).toBe(403)
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
      expect(await res.json()).toMatchObject({ code: 'REGISTRY_LISTING_OFF' })
    }
  })

  it('refuses a missing or wrong token with 401 UNAUTHORIZED and lists nothing', async () => {
    const { url } = await startServer({ registryToken: TOKEN })
    const a = await party(url, 'room1')
    for (const auth of [
      undefined,
      'Bearer wrong-token-0123456789abcdef',
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
    ]) {
      const res = await nodes(url, auth)
      expect(res.status, String(auth)).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /)
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
      const text = await res.text()
      expect(JSON.parse(text)).toMatchObject({ code: 'UNAUTHORIZED' })
      expect(text).not.toContain(a.id.partyId)
    }
    expect((await fetch(`${url}/registry/nodes?token=${TOKEN}`)).status).toBe(401)
  })

  it('lists registered parties with rooms, lastSeen and health for the right token, never cross-origin', async () => {
    const { url } = await startServer({ registryToken: TOKEN })
    const a = await party(url, 'room1', 'room2')
    await request(a.socket, 'heartbeat', { health: 0.5 })
    const res = await nodes(url, `Bearer ${TOKEN}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    const body = (await res.json()) as { nodes: Record<string, unknown>[] }
    expect(body.nodes).toHaveLength(1)
    expect(body.nodes[0]).toMatchObject({ partyId: a.id.partyId, rooms: ['room1', 'room2'], health: 0.5 })
    expect(typeof body.nodes[0]?.lastSeen).toBe('number')
    expect(body.nodes[0]).not.toHaveProperty('socketId')
    // the other endpoints keep their header
    expect((await fetch(`${url}/registry/stats`)).headers.get('access-control-allow-origin')).toBe('*')
  })
})
