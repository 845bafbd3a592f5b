import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  connectRaw,
  identity,
  once,
  party,
  register,
  request,
  startServer,
  until,
} from './harness.ts'

afterEach(cleanup)

describe('challenge and registration', () => {
  it('sends a 32-byte challenge naming the server origin, versions and limits', async () => {
    const { url, origin } = await startServer({ maxPayloadBytes: 1000 })
    const { challenge } = await connectRaw(url)
    expect(challenge.challenge).toMatch(/^[0-9a-f]{64}$/)
    expect(challenge.origin).toBe(origin)
    expect(origin).toBe(new URL(url).origin)
    expect(challenge.versions).toContain(1)
    expect(challenge.limits?.maxPayloadBytes).toBe(1000)
  })

  it('gives every connection a fresh challenge', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([connectRaw(url), connectRaw(url)])
    expect(a.challenge.challenge).not.toBe(b.challenge.challenge)
  })

  it('registers a party with a valid signature', async () => {
    const { url, server } = await startServer()
    const raw = await connectRaw(url)
    const id = await identity()
    const ack = await register(raw, id)
    expect(ack).toEqual({ ok: true, partyId: id.partyId })
    expect((await server.registry.nodes()).map((n) => n.partyId)).toEqual([id.partyId])
    expect(server.metrics.counters.registrations).toBe(1)
  })

  it('names the configured public origin in the challenge and verifies against it', async () => {
    const { url } = await startServer({ origin: 'https://signal.example.org' })
    const raw = await connectRaw(url)
    expect(raw.challenge.origin).toBe('https://signal.example.org')
    expect((await register(raw, await identity())).ok).toBe(true)
  })

  it('refuses a signature by another key with BAD_SIGNATURE', async () => {
    const { url, server } = await startServer()
    const raw = await connectRaw(url)
    const ack = await register(raw, await identity(), { signer: await identity() })
    expect(ack.code).toBe('BAD_SIGNATURE')
    expect(server.metrics.registrationFailures.get('BAD_SIGNATURE')).toBe(1)
    expect(await server.registry.nodes()).toEqual([])
  })

  it('refuses a signature over another origin with BAD_SIGNATURE', async () => {
    const { url } = await startServer()
    const raw = await connectRaw(url)
    const ack = await register(raw, await identity(), { origin: 'http://evil.example' })
    expect(ack.code).toBe('BAD_SIGNATURE')
  })

  it('refuses a signature over another challenge with BAD_SIGNATURE', async () => {
    const { url } = await startServer()
    const raw = await connectRaw(url)
    const ack = await register(raw, await identity(), { challenge: randomBytes(32) })
    expect(ack.code).toBe('BAD_SIGNATURE')
  })

  it('refuses the challenge of another connection with BAD_SIGNATURE', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([connectRaw(url), connectRaw(url)])
    const ack = await register(a, await identity(), { challenge: Buffer.from(b.challenge.challenge, 'hex') })
    expect(ack.code).toBe('BAD_SIGNATURE')
  })

  it('refuses a small-order public key with BAD_SIGNATURE', async () => {
    const { url } = await startServer()
    const raw = await connectRaw(url)
    // The identity point (0, 1): small order; any "signature" must be refused.
    const ack = await request<{ code?: string }>(raw.socket, 'register', {
      partyId: `01${'00'.repeat(31)}`,
      signature: `01${'00'.repeat(63)}`,
      version: 1,
    })
    expect(ack.code).toBe('BAD_SIGNATURE')
  })

  it('refuses an unknown version with VERSION_MISMATCH', async () => {
    const { url } = await startServer()
    const raw = await connectRaw(url)
    expect((await register(raw, await identity(), { version: 99 })).code).toBe('VERSION_MISMATCH')
  })

  it('refuses malformed registrations with BAD_PAYLOAD', async () => {
    const { url } = await startServer({ maxRegistrationAttempts: 10 })
    const raw = await connectRaw(url)
    for (const bad of [
      null,
      'x',
      {},
      { partyId: 'AB', signature: '00', version: 1 },
      { partyId: '0'.repeat(64), signature: '0'.repeat(128), version: 1 },
    ]) {
      expect((await request<{ code?: string }>(raw.socket, 'register', bad)).code).toBe('BAD_PAYLOAD')
    }
  })

  it('refuses a second registration on the same socket with ALREADY_REGISTERED', async () => {
    const { url } = await startServer()
    const p = await party(url)
    expect((await register(p, await identity())).code).toBe('ALREADY_REGISTERED')
  })

  it('cuts a socket after too many failed registrations with ABUSE', async () => {
    const { url } = await startServer({ maxRegistrationAttempts: 2 })
    const raw = await connectRaw(url)
    const id = await identity()
    const disconnected = once(raw.socket, 'disconnect')
    expect((await register(raw, id, { signer: await identity() })).code).toBe('BAD_SIGNATURE')
    await register(raw, id, { signer: await identity() }).catch(() => undefined)
    await disconnected
    expect(raw.errors.map((e) => e.code)).toContain('ABUSE')
  })

  it('cuts a socket that does not register in time with REGISTRATION_TIMEOUT', async () => {
    const { url } = await startServer({ registrationTimeoutMs: 200 })
    const raw = await connectRaw(url)
    await once(raw.socket, 'disconnect')
    expect(raw.errors.map((e) => e.code)).toEqual(['REGISTRATION_TIMEOUT'])
  })

  it('replaces the older socket of the same PartyId, which gets REPLACED', async () => {
    const { url, server } = await startServer()
    const older = await party(url, 'room1')
    const watcher = await party(url, 'room1')
    const left = once<{ event: string; party: { partyId: string } }>(watcher.socket, 'presence')
    const closed = once(older.socket, 'disconnect')
    const newer = await connectRaw(url)
    expect((await register(newer, older.id)).ok).toBe(true)
    await closed
    expect(older.errors.map((e) => e.code)).toEqual(['REPLACED'])
    expect(await left).toMatchObject({ event: 'left', party: { partyId: older.id.partyId } })
    // The registry still knows the party, on the newer socket, in no room until it joins again.
    const node = (await server.registry.nodes()).find((n) => n.partyId === older.id.partyId)
    expect(node?.socketId).toBe(newer.socket.id)
    expect(node?.rooms).toEqual([])
  })

  it('forgets a party when its socket disconnects', async () => {
    const { url, server } = await startServer()
    const p = await party(url, 'room1')
    p.socket.disconnect()
    await until(async () => (await server.registry.nodes()).length === 0, 2000, 'registry to empty')
    expect((await server.registry.stats()).rooms).toBe(0)
  })
})

describe('unregistered sockets', () => {
  it('may not join, leave, signal or heartbeat (NOT_REGISTERED)', async () => {
    const { url } = await startServer()
    const member = await party(url, 'room1')
    const raw = await connectRaw(url)
    expect((await request<{ code?: string }>(raw.socket, 'join', { room: 'room1' })).code).toBe(
      'NOT_REGISTERED',
    )
    expect((await request<{ code?: string }>(raw.socket, 'leave', { room: 'room1' })).code).toBe(
      'NOT_REGISTERED',
    )
    const signal = {
      room: 'room1',
      to: member.id.partyId,
      data: { linkId: 'l', attempt: 0, kind: 'connect-request' },
    }
    expect((await request<{ code?: string }>(raw.socket, 'signal', signal)).code).toBe('NOT_REGISTERED')
    expect((await request<{ code?: string }>(raw.socket, 'heartbeat', {})).code).toBe('NOT_REGISTERED')
  })

  it('may not relay frames (error event NOT_REGISTERED), and nothing is delivered', async () => {
    const { url, server } = await startServer()
    const member = await party(url, 'room1')
    const got: unknown[] = []
    member.socket.on('relay', (m) => got.push(m))
    const raw = await connectRaw(url)
    const error = once<{ code: string; event?: string }>(raw.socket, 'error')
    raw.socket.emit('relay', { room: 'room1', to: member.id.partyId, frame: new Uint8Array([1, 2, 3]) })
    expect(await error).toMatchObject({ code: 'NOT_REGISTERED', event: 'relay' })
    expect(got).toEqual([])
    expect(server.metrics.counters.relayFrames).toBe(0)
  })

  it('refuses unknown events with BAD_PAYLOAD', async () => {
    const { url } = await startServer()
    const raw = await connectRaw(url)
    const error = once<{ code: string }>(raw.socket, 'error')
    raw.socket.emit('subscribe-all', {})
    expect((await error).code).toBe('BAD_PAYLOAD')
  })
})
