/**
 * Two signaling server instances on one real Redis (`redis-server` on 127.0.0.1, started here):
 * presence, signals and relay frames cross instances, the membership rules and the limits hold
 * cluster-wide, `/registry/*` and the gauges count every party on either instance, the newest
 * registration wins across instances, a killed instance's registrations expire, and a
 * registration Redis lost is restored by the client reconnecting.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import {
  createSignalingClient,
  type PresenceEvent,
  type RelayEvent,
  type SignalEvent,
} from '@conclave/core/signaling'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseCommandLine, resolveConfig } from '../src/index.ts'
import { type RedisDaemon, skipWithout, startRedis, startSignalInstance } from './daemons.ts'
import {
  cleanup,
  collect,
  connectRaw,
  identity,
  onCleanup,
  once,
  party,
  register,
  request,
  settle,
  startServer,
  until,
} from './harness.ts'

const BIN = fileURLToPath(new URL('../bin/conclave-signal.js', import.meta.url))
const data = { linkId: 'l', attempt: 1, kind: 'offer' as const, payload: { sdp: 'x' } }

let redis: RedisDaemon | undefined
const children = new Set<ChildProcess>()

afterEach(async () => {
  await cleanup()
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL')
  }
  children.clear()
})

/** A fresh key prefix: each test has its own network on the shared Redis. */
const prefix = (): string => `t${randomBytes(4).toString('hex')}`

/** Two in-process instances of one network. */
async function pair(options: { partiesPerRoom?: number; registryTtlMs?: number } = {}) {
  const redisPrefix = prefix()
  const common = { redisUrl: redis!.url, redisPrefix, registryToken: TOKEN, ...options }
  const a = await startServer(common)
  const b = await startServer(common)
  return { a, b, redisPrefix }
}

/** The operator token of the instances of {@link pair}. */
const TOKEN = 'cluster-test-token-0123456789'

async function getJson<T = Record<string, unknown>>(url: string, init?: RequestInit): Promise<T> {
  return (await (await fetch(url, init)).json()) as T
}

describe.skipIf(skipWithout('redis-server', 'redis-server'))('signaling cluster on Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('presence, signals and relay frames reach a party on the other instance', async () => {
    const { a, b } = await pair()
    expect(a.origin).not.toBe(b.origin)
    const alice = await party(a.url, 'room1')
    const bob = await connectRaw(b.url)
    const bobId = await identity()
    expect((await register(bob, bobId)).ok).toBe(true)
    const presence = once<PresenceEvent>(alice.socket, 'presence')
    const joined = await request<{ ok: boolean; peers: { partyId: string }[] }>(bob.socket, 'join', {
      room: 'room1',
    })
    expect(joined.ok).toBe(true)
    expect(joined.peers.map((p) => p.partyId)).toEqual([alice.id.partyId])
    expect(await presence).toMatchObject({
      room: 'room1',
      event: 'joined',
      party: { partyId: bobId.partyId },
    })

    const signal = once<SignalEvent>(bob.socket, 'signal')
    expect(await request(alice.socket, 'signal', { room: 'room1', to: bobId.partyId, data })).toEqual({
      ok: true,
    })
    expect(await signal).toEqual({ room: 'room1', from: alice.id.partyId, data })

    const relay = once<Omit<RelayEvent, 'frame'> & { frame: Buffer }>(alice.socket, 'relay')
    bob.socket.emit('relay', { room: 'room1', to: alice.id.partyId, frame: new Uint8Array([1, 2, 3]) })
    const got = await relay
    expect(got.from).toBe(bobId.partyId)
    expect([...got.frame]).toEqual([1, 2, 3])

    // leaving is seen on the other instance too
    const left = once<PresenceEvent>(alice.socket, 'presence')
    bob.socket.disconnect()
    expect(await left).toMatchObject({ event: 'left', party: { partyId: bobId.partyId } })
  })

  it('checks room membership across instances before forwarding', async () => {
    const { a, b } = await pair()
    const alice = await party(a.url, 'room1')
    const bob = await party(b.url, 'room2')
    const carol = await party(b.url, 'room1')
    const bobSignals = collect(bob.socket, 'signal')
    const refused = await request<{ ok: boolean; code: string }>(alice.socket, 'signal', {
      room: 'room1',
      to: bob.id.partyId,
      data,
    })
    expect(refused).toMatchObject({ ok: false, code: 'PEER_NOT_IN_ROOM' })
    const notIn = await request<{ ok: boolean; code: string }>(bob.socket, 'signal', {
      room: 'room1',
      to: carol.id.partyId,
      data,
    })
    expect(notIn).toMatchObject({ ok: false, code: 'NOT_IN_ROOM' })
    alice.socket.emit('relay', { room: 'room2', to: bob.id.partyId, frame: new Uint8Array([9]) })
    await until(() => alice.errors.length > 0, 5000, 'the relay refusal')
    expect(alice.errors[0]).toMatchObject({ code: 'NOT_IN_ROOM', event: 'relay' })
    await settle()
    expect(bobSignals).toEqual([])
  })

  it('enforces parties per room cluster-wide', async () => {
    const { a, b } = await pair({ partiesPerRoom: 2 })
    await party(a.url, 'small')
    await party(b.url, 'small')
    const third = await party(a.url)
    expect(await request(third.socket, 'join', { room: 'small' })).toMatchObject({
      ok: false,
      code: 'ROOM_FULL',
    })
  })

  it('/registry/stats, /registry/nodes and the gauges count every party on either instance', async () => {
    const { a, b } = await pair()
    const onA = await Promise.all([party(a.url, 'r1'), party(a.url, 'r1', 'r2'), party(a.url)])
    const onB = await Promise.all([party(b.url, 'r1'), party(b.url, 'r2')])
    for (const { url } of [a, b]) {
      expect(await getJson(`${url}/registry/stats`)).toMatchObject({
        parties: 5,
        rooms: 2,
        memberships: 5,
        largestRoom: 3,
      })
      const { nodes } = await getJson<{ nodes: { partyId: string; rooms: string[] }[] }>(
        `${url}/registry/nodes`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      )
      expect(nodes.map((n) => n.partyId).sort()).toEqual([...onA, ...onB].map((p) => p.id.partyId).sort())
      expect(nodes.find((n) => n.partyId === onA[1]!.id.partyId)?.rooms).toEqual(['r1', 'r2'])
      expect(nodes[0]).not.toHaveProperty('socketId')
    }
    expect(await getJson(`${a.url}/healthz`)).toMatchObject({ registeredParties: 5, connectedSockets: 3 })
    expect(await getJson(`${b.url}/healthz`)).toMatchObject({ registeredParties: 5, connectedSockets: 2 })
    const metrics = await (await fetch(`${b.url}/metrics`)).text()
    expect(metrics).toContain('conclave_signal_registered_parties 5')
    expect(metrics).toContain('conclave_signal_rooms 2')
  })

  it('the newest registration wins across instances: the older socket is told REPLACED and cut', async () => {
    const { a, b } = await pair()
    const watcher = await party(b.url, 'room1')
    const seen = collect<PresenceEvent>(watcher.socket, 'presence')
    const old = await party(a.url, 'room1')
    const cut = once<string>(old.socket, 'disconnect')
    const fresh = await connectRaw(b.url)
    expect((await register(fresh, old.id)).ok).toBe(true)
    expect(await cut).toBe('io server disconnect')
    expect(old.errors.map((e) => e.code)).toContain('REPLACED')
    await until(() => seen.some((e) => e.event === 'left'), 5000, 'the left event')
    expect(seen.map((e) => [e.event, e.party.partyId])).toEqual([
      ['joined', old.id.partyId],
      ['left', old.id.partyId],
    ])
    expect(await getJson(`${a.url}/registry/stats`)).toMatchObject({ parties: 2, memberships: 1 })
  })

  it("a killed instance's registrations expire, and its parties register again on the other", async () => {
    const redisPrefix = prefix()
    const env = {
      REDIS_URL: redis!.url,
      CONCLAVE_SIGNAL_REDIS_PREFIX: redisPrefix,
      CONCLAVE_SIGNAL_REGISTRY_TTL_MS: '1500',
    }
    const dying = await startSignalInstance(env)
    onCleanup(() => dying.kill())
    const b = await startServer({ redisUrl: redis!.url, redisPrefix, registryTtlMs: 1500 })
    const stays = await party(b.url, 'room1')
    const ghosts = await Promise.all([party(dying.url, 'room1'), party(dying.url, 'room1')])
    expect(await getJson(`${b.url}/registry/stats`)).toMatchObject({ parties: 3, memberships: 3 })
    // the keep-alive of the dying instance holds its registrations past their time to live
    await settle(2000)
    expect(await getJson(`${b.url}/registry/stats`)).toMatchObject({ parties: 3 })

    await dying.kill()
    // one of them comes back on b at once (newest wins over the dead socket) …
    const back = await connectRaw(b.url)
    expect((await register(back, ghosts[0]!.id)).ok).toBe(true)
    expect(await request(back.socket, 'join', { room: 'room1' })).toMatchObject({ ok: true })
    // … the other expires: nothing of the dead instance is left
    await until(
      async () => (await getJson<{ parties: number }>(`${b.url}/registry/stats`)).parties === 2,
      6000,
      'the dead registration to expire',
    )
    expect(await getJson(`${b.url}/registry/stats`)).toMatchObject({ parties: 2, memberships: 2 })
    expect(
      await request(stays.socket, 'signal', { room: 'room1', to: ghosts[1]!.id.partyId, data }),
    ).toMatchObject({ ok: false, code: 'PEER_NOT_IN_ROOM' })
    expect(await request(stays.socket, 'signal', { room: 'room1', to: ghosts[0]!.id.partyId, data })).toEqual(
      { ok: true },
    )
  }, 40_000)

  it('a registration Redis lost is restored: the client is reconnected and registers again', async () => {
    const { a, redisPrefix } = await pair({ registryTtlMs: 1500 })
    const crypto = createNobleBackend()
    const id = await generateIdentity(crypto)
    const client = createSignalingClient({
      url: a.url,
      publicKey: id.key.publicKey,
      sign: (bytes) => crypto.ed25519.sign(id.key, bytes),
    })
    onCleanup(() => client.stop())
    await client.start()
    await client.join('room1')
    const admin = new Redis(redis!.url)
    onCleanup(() => admin.quit())
    const keys = await admin.keys(`${redisPrefix}:*`)
    expect(keys.length).toBeGreaterThan(0)
    await admin.del(...keys)
    await until(() => client.state !== 'registered', 5000, 'the reconnect')
    await until(
      async () => (await getJson<{ memberships: number }>(`${a.url}/registry/stats`)).memberships === 1,
      5000,
      'registration and room restored',
    )
    expect(client.state).toBe('registered')
  })

  it('survives Redis going away: /healthz answers 500, and once Redis is back its parties register again', async () => {
    const own = await startRedis()
    onCleanup(() => own.stop())
    const { url, server } = await startServer({
      redisUrl: own.url,
      redisPrefix: prefix(),
      registryTtlMs: 1500,
    })
    const crypto = createNobleBackend()
    const id = await generateIdentity(crypto)
    const client = createSignalingClient({
      url,
      publicKey: id.key.publicKey,
      sign: (bytes) => crypto.ed25519.sign(id.key, bytes),
      reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    })
    onCleanup(() => client.stop())
    await client.start()
    await client.join('room1')
    const health = async (): Promise<number> => (await fetch(`${url}/healthz`)).status

    await own.stop()
    await until(async () => (await health()) === 500, 10_000, '/healthz to fail')
    // a heartbeat and a signal while Redis is away fail without taking the server down
    client.heartbeat(0.5)
    await expect(client.signal('room1', 'ab'.repeat(32), data)).rejects.toBeDefined()

    // an empty Redis comes back on the same port: the registration is restored by the client
    const again = await startRedis(own.port)
    onCleanup(() => again.stop())
    await until(async () => (await health()) === 200, 15_000, '/healthz to recover')
    await until(
      async () => (await getJson<{ memberships: number }>(`${url}/registry/stats`)).memberships === 1,
      15_000,
      'the registration to be restored',
    )
    expect(client.state).toBe('registered')

    // and it stops cleanly while Redis is away (nothing left unhandled)
    await again.stop()
    await until(async () => (await health()) === 500, 10_000, '/healthz to fail again')
    await server.stop()
  }, 60_000)

  it('conclave-signal exits 1 when Redis cannot be reached', async () => {
    const child = spawn(process.execPath, [BIN, '--port', '0', '--log-level', 'silent'], {
      // a port nothing listens on (the daemon's own port, once it is stopped, is not needed)
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    expect(code).toBe(1)
  })
})

describe('cluster configuration', () => {
  it('reads --redis-url / REDIS_URL and refuses anything but redis: and rediss:', () => {
    const fromEnv = parseCommandLine([], { REDIS_URL: 'redis://127.0.0.1:6379' })
    expect(fromEnv.help === false && fromEnv.config.redisUrl).toBe('redis://127.0.0.1:6379')
    const fromFlag = parseCommandLine(['--redis-url', 'rediss://r:6380', '--registry-ttl-ms', '5000'], {
      REDIS_URL: 'redis://elsewhere:6379',
    })
    expect(fromFlag.help === false && fromFlag.config).toMatchObject({
      redisUrl: 'rediss://r:6380',
      registryTtlMs: 5000,
    })
    expect(() => resolveConfig({ redisUrl: 'http://127.0.0.1:6379' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => resolveConfig({ registryTtlMs: 10 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => resolveConfig({ redisPrefix: 'a b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(resolveConfig().redisUrl).toBeUndefined()
  })
})
