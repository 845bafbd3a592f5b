import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, connectRaw, identity, party, register, request, startServer } from './harness.ts'

afterEach(cleanup)

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
    const value = (line: string): number | undefined => {
      const found = text.split('\n').find((l) => l.startsWith(`${line} `))
      return found === undefined ? undefined : Number(found.slice(line.length + 1))
    }
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

  it('GET /registry/nodes lists registered parties with rooms, lastSeen and health', async () => {
    const { url } = await startServer()
    const a = await party(url, 'room1', 'room2')
    await request(a.socket, 'heartbeat', { health: 0.5 })
    const body = (await (await fetch(`${url}/registry/nodes`)).json()) as { nodes: Record<string, unknown>[] }
    expect(body.nodes).toHaveLength(1)
    expect(body.nodes[0]).toMatchObject({ partyId: a.id.partyId, rooms: ['room1', 'room2'], health: 0.5 })
    expect(typeof body.nodes[0]?.lastSeen).toBe('number')
    expect(body.nodes[0]).not.toHaveProperty('socketId')
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
