import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createSignalingClient,
  type PresenceEvent,
  type SignalEvent,
  type SignalingClient,
  type SignalingClientOptions,
  SignalingError,
} from '@conclave/core/signaling'
import { Server } from 'socket.io'
import { afterEach, describe, expect, it } from 'vitest'
import { createSignalingServer } from '../src/index.ts'
import { cleanup, identity, onCleanup, startServer, until } from './harness.ts'

afterEach(cleanup)

async function client(url: string, options: Partial<SignalingClientOptions> = {}): Promise<SignalingClient> {
  const id = await identity()
  const c = createSignalingClient({ url, publicKey: id.publicKey, sign: id.sign, ...options })
  onCleanup(() => c.stop())
  return c
}

function next<T>(
  c: SignalingClient,
  event: 'signal' | 'presence' | 'relay' | 'error' | 'joined',
  ms = 5000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), ms)
    const off = c.on(event, (v) => {
      clearTimeout(timer)
      off()
      resolve(v as T)
    })
  })
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (e) {
    return (e as { code?: string }).code
  }
}

const data = { linkId: 'a:b', attempt: 1, kind: 'offer' as const, payload: { type: 'offer', sdp: 'v=0' } }

describe('signaling client', () => {
  it('registers, goes through its states, and is listed by the server', async () => {
    const { url, server } = await startServer()
    const c = await client(url, { label: 'alice' })
    const states: string[] = []
    c.on('state', (s) => states.push(s))
    const registered = new Promise((r) => c.on('registered', r))
    await c.start({ signal: AbortSignal.timeout(5000) })
    expect(c.state).toBe('registered')
    expect(await registered).toMatchObject({ partyId: c.partyId })
    expect(states).toEqual(['registering', 'registered'])
    expect(c.limits?.maxPayloadBytes).toBe(server.config.maxPayloadBytes)
    const [node] = await server.registry.nodes()
    expect(node).toMatchObject({ partyId: c.partyId, label: 'alice' })
  })

  it('joins, sees presence, and exchanges signals and relay frames', async () => {
    const { url } = await startServer()
    const [a, b] = await Promise.all([client(url), client(url)])
    await Promise.all([a.start(), b.start()])
    expect(await a.join('room1')).toEqual([])
    const presence = next<PresenceEvent>(a, 'presence')
    const peers = await b.join('room1')
    expect(peers.map((p) => p.partyId)).toEqual([a.partyId])
    expect(await presence).toMatchObject({ room: 'room1', event: 'joined', party: { partyId: b.partyId } })

    const signal = next<SignalEvent>(b, 'signal')
    await a.signal('room1', b.partyId, data)
    expect(await signal).toEqual({ room: 'room1', from: a.partyId, data })

    const relay = next<{ from: string; frame: Uint8Array }>(a, 'relay')
    expect(b.relay('room1', a.partyId, new Uint8Array([1, 2, 3]))).toBe(true)
    const frame = await relay
    expect(frame.from).toBe(b.partyId)
    expect(frame.frame).toBeInstanceOf(Uint8Array)
    expect([...frame.frame]).toEqual([1, 2, 3])
  })

  it('rejects refused operations with the server code', async () => {
    const { url } = await startServer({ partiesPerRoom: 1 })
    const [a, b] = await Promise.all([client(url), client(url)])
    await Promise.all([a.start(), b.start()])
    await a.join('room1')
    expect(await code(b.join('room1'))).toBe('ROOM_FULL')
    expect(b.rooms).toEqual([])
    await b.join('room2')
    expect(await code(a.signal('room1', b.partyId, data))).toBe('PEER_NOT_IN_ROOM')
    const error = next<SignalingError>(a, 'error')
    a.relay('room1', b.partyId, new Uint8Array([1]))
    const e = await error
    expect(e).toBeInstanceOf(SignalingError)
    expect(e.code).toBe('PEER_NOT_IN_ROOM')
    expect(e.details).toMatchObject({ event: 'relay', room: 'room1', to: b.partyId })
  })

  it('checks arguments at its entry points', async () => {
    const { url } = await startServer()
    const c = await client(url)
    await c.start()
    expect(await code(c.join('bad room'))).toBe('INVALID_ARGUMENT')
    expect(await code(c.signal('room1', 'nope', data))).toBe('INVALID_ARGUMENT')
    expect(() => c.relay('room1', c.partyId, new Uint8Array(70_000))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    )
    expect(() =>
      createSignalingClient({ url, publicKey: new Uint8Array(31), sign: async () => new Uint8Array(64) }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('refuses a challenge naming another origin (ORIGIN_MISMATCH) and never signs it', async () => {
    const { url, server } = await startServer({ origin: 'https://other.example' })
    let signed = 0
    const id = await identity()
    const c = await client(url, {
      publicKey: id.publicKey,
      sign: (b) => {
        signed++
        return id.sign(b)
      },
    })
    const error = next<SignalingError>(c, 'error')
    expect(await code(c.start())).toBe('ORIGIN_MISMATCH')
    expect((await error).code).toBe('ORIGIN_MISMATCH')
    expect(signed).toBe(0)
    expect(c.state).toBe('disconnected')
    expect(server.metrics.counters.registrations).toBe(0)
  })

  it('stops with BAD_SIGNATURE when its signer is wrong', async () => {
    const { url } = await startServer()
    const other = await identity()
    const c = await client(url, { sign: other.sign })
    expect(await code(c.start())).toBe('BAD_SIGNATURE')
    expect(c.state).toBe('disconnected')
  })

  it('drops invalid payloads from a server with BAD_PAYLOAD errors', async () => {
    // A hand-made server: a valid challenge it never honours, then garbage.
    const http = createServer()
    const io = new Server(http, { transports: ['websocket'] })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    onCleanup(() => new Promise((r) => io.close(() => r(undefined))))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    io.on('connection', (socket) => {
      socket.emit('signal', { room: 'room1', from: 'not-a-party-id', data })
      socket.emit('presence', { room: 'room1', event: 'exploded', party: {} })
    })
    const c = await client(url)
    const errors: SignalingError[] = []
    const signals: unknown[] = []
    c.on('error', (e) => errors.push(e))
    c.on('signal', (s) => signals.push(s))
    void c.start().catch(() => undefined)
    await until(() => errors.length >= 2, 5000, 'two errors')
    expect(errors.map((e) => e.code)).toEqual(['BAD_PAYLOAD', 'BAD_PAYLOAD'])
    expect(signals).toEqual([])
  })

  it('gives way to a newer connection of the same identity (REPLACED) until started again', async () => {
    const { url, server } = await startServer()
    const id = await identity()
    const older = await client(url, { publicKey: id.publicKey, sign: id.sign })
    const newer = await client(url, { publicKey: id.publicKey, sign: id.sign })
    await older.start()
    await older.join('room1')
    const replaced = next<SignalingError>(older, 'error')
    await newer.start()
    expect((await replaced).code).toBe('REPLACED')
    await until(() => older.state === 'disconnected', 5000, 'older to be cut')
    expect(await code(older.join('room2'))).toBe('REPLACED')
    expect(await code(older.ready())).toBe('REPLACED')
    await until(async () => (await server.registry.nodes()).length === 1, 2000, 'one node')
  })

  it('keeps itself alive with heartbeats and reports health', async () => {
    const { url, server } = await startServer({ heartbeatTimeoutMs: 1000 })
    const c = await client(url, { heartbeatIntervalMs: 200 })
    await c.start()
    c.heartbeat(0.9)
    await new Promise((r) => setTimeout(r, 1500))
    expect(c.state).toBe('registered')
    const [node] = await server.registry.nodes()
    expect(node?.health).toBe(0.9)
  })

  it('fails ready() with ABORTED when the signal fires, and STOPPED on stop()', async () => {
    const { url, server } = await startServer()
    await server.stop()
    const c = await client(url)
    expect(await code(c.start({ signal: AbortSignal.timeout(100) }))).toBe('ABORTED')
    const waiting = code(c.ready())
    c.stop()
    expect(await waiting).toBe('STOPPED')
    expect(await code(c.join('room1'))).toBe('STOPPED')
  })

  it('re-registers and re-joins its rooms after the server restarts on the same port', async () => {
    const first = await startServer()
    const [a, b] = await Promise.all([client(first.url), client(first.url)])
    await Promise.all([a.start(), b.start()])
    await a.join('room1')
    await b.join('room1')
    const registeredAgain = Promise.all([
      new Promise((r) => a.on('registered', r)),
      new Promise((r) => b.on('registered', r)),
    ])
    const rejoined = next<{ room: string; peers: unknown[] }>(a, 'joined', 10_000)

    await first.server.stop()
    await until(() => a.state === 'disconnected' && b.state === 'disconnected', 5000, 'clients to notice')
    const second = createSignalingServer({ host: '127.0.0.1', port: first.port, logLevel: 'silent' })
    onCleanup(() => second.stop())
    await second.start()

    await registeredAgain
    expect((await rejoined).room).toBe('room1')
    await until(
      async () => (await second.registry.nodes()).filter((n) => n.rooms.includes('room1')).length === 2,
      10_000,
      'both parties back in room1',
    )
    expect(a.rooms).toEqual(['room1'])
    const signal = next<SignalEvent>(b, 'signal')
    await a.signal('room1', b.partyId, data)
    expect((await signal).from).toBe(a.partyId)
  })
})
