/**
 * `joinRoom` in Node (`@conclave/core/node`): real @roamhq/wrtc on loopback candidates, a real
 * signaling server on 127.0.0.1, the session host in its worker_threads Worker by default, and
 * no platform part passed but the loopback candidate filter. Every party and server is stopped
 * in afterEach.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createMemoryOutboxStore,
  generateIdentity,
  type Identity,
  type Party,
  type PartyEvent,
  parseRoster,
  type RoomParty,
} from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createMemoryGrantStore } from '@conclave/core/host'
import { createNodeCrypto, createRoomParty, joinRoom, type NodeJoinRoomOptions } from '@conclave/core/node'
import { loopbackOnly } from '@conclave/core/transport'
import { runSecureSum, SECURE_SUM } from '@conclave/protocols'
import { createSignalingServer } from '@conclave/signaling-server'
import { afterEach, describe, expect, it } from 'vitest'
import { spawnJsonLines } from '../src/testing/json-lines-child.ts'
import { FROM_SOURCE } from './harness.ts'

const NO_WRTC = fileURLToPath(new URL('./fixtures/no-wrtc.ts', import.meta.url))

const crypto = createNodeCrypto()
const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c()
    } catch {
      // keep cleaning up
    }
  }
})

async function startServer(): Promise<string> {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  cleanups.push(() => server.stop())
  return url
}

const loopback = { webrtc: { candidateFilter: loopbackOnly } }

async function join(options: NodeJoinRoomOptions): Promise<RoomParty> {
  const room = await joinRoom(options)
  cleanups.push(() => room.stop())
  return room
}

/** secure-sum among `parties` (the first proposes, the others join): every party's total. */
async function secureSum(parties: Party[], inputs: bigint[]): Promise<bigint[]> {
  const [first, ...rest] = parties
  if (!first) throw new Error('no parties')
  const joined = rest.map(
    (p, i) =>
      new Promise<bigint>((resolve, reject) => {
        const off = p.on('proposal', (ev) => {
          off()
          runSecureSum(p.join(ev.proposal.sessionId), inputs[i + 1]!).then(resolve, reject)
        })
      }),
  )
  const session = await first.propose({ protocol: SECURE_SUM, participants: parties.map((p) => p.id) })
  return Promise.all([runSecureSum(session, inputs[0]!), ...joined])
}

async function linked(rooms: RoomParty[]): Promise<void> {
  const ids = rooms.map((r) => r.party.id)
  await Promise.all(rooms.map((r) => r.party.waitForPeers(ids, { timeoutMs: 20_000 })))
}

/** The active handles and requests of this process (`process.getActiveResourcesInfo()`). */
function resources(): string[] {
  // stdio handles open on first use (a warning printed …) and then stay: open them first
  void [process.stdout.fd, process.stderr.fd]
  return process.getActiveResourcesInfo()
}

/** The Workers and message ports of this process (the session hosts' Workers and their ports). */
function workerHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort')
}

/** What `after` holds beyond `before` (as multisets). */
function extra(before: string[], after: string[]): string[] {
  const left = [...before]
  return after.filter((r) => {
    const i = left.indexOf(r)
    if (i < 0) return true
    left.splice(i, 1)
    return false
  })
}

async function settled(check: () => string[], ms: number): Promise<string[]> {
  const end = Date.now() + ms
  for (;;) {
    const left = check()
    if (left.length === 0 || Date.now() > end) return left
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('joinRoom (Node)', () => {
  it('two parties join with nothing but the loopback filter, run secure-sum in Worker hosts, and stop() leaves no handle open', async () => {
    const before = resources()
    const ports = workerHandles().length
    const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
    const { url } = await server.start()
    const [ia, ib] = await Promise.all([generateIdentity(crypto), generateIdentity(crypto)])
    const a = await joinRoom({ signaling: url, room: 'pair', identity: ia, ...loopback })
    const b = await joinRoom({ signaling: { url }, room: 'pair', identity: ib.key, ...loopback })
    expect([a.hostKind, b.hostKind]).toEqual(['worker', 'worker'])
    // a worker_threads Worker per party: its message ports are open in this process
    expect(workerHandles().length).toBeGreaterThanOrEqual(ports + 2)
    await linked([a, b])
    expect(await secureSum([a.party, b.party], [12n, 30n])).toEqual([42n, 42n])
    for (const r of [a, b]) {
      expect(r.party.peers()[0]?.transport).toBe('webrtc')
      expect(r.party.open).toBe(true)
    }

    await a.stop()
    await b.stop()
    await b.stop() // idempotent
    await server.stop()
    expect(await settled(() => extra(before, resources()), 5000)).toEqual([])
  }, 60_000)

  it.each(['webrtc', 'relay', 'hybrid'] as const)(
    'three parties run secure-sum over transport: %s',
    async (transport) => {
      const url = await startServer()
      const ids = await Promise.all([0, 1, 2].map(() => generateIdentity(crypto)))
      const rooms: RoomParty[] = []
      for (const identity of ids)
        rooms.push(await join({ signaling: url, room: transport, identity, transport, ...loopback }))
      await linked(rooms)
      expect(
        await secureSum(
          rooms.map((r) => r.party),
          [1n, 2n, 3n],
        ),
      ).toEqual([6n, 6n, 6n])
      for (const r of rooms) {
        // hybrid with working WebRTC ends on webrtc
        const kind = transport === 'relay' ? 'relay' : 'webrtc'
        expect(r.party.peers().map((p) => p.transport)).toEqual([kind, kind])
        expect(r.transport.kind).toBe(kind)
      }
    },
    60_000,
  )

  it('the roster reaches the Worker host: a party not on it is refused, the others link', async () => {
    const url = await startServer()
    const [ia, ib, outsider] = (await Promise.all([0, 1, 2].map(() => generateIdentity(crypto)))) as [
      Identity,
      Identity,
      Identity,
    ]
    const roster = parseRoster({ version: 1, parties: [{ id: ia.id }, { id: ib.id }] })
    const events: PartyEvent[] = []
    const a = await createRoomParty({ signaling: url, room: 'trust', identity: ia, roster, ...loopback })
    cleanups.push(() => a.stop())
    a.party.on('event', (e) => events.push(e))
    await a.start()
    const b = await join({ signaling: url, room: 'trust', identity: ib, roster, ...loopback })
    const c = await join({ signaling: url, room: 'trust', identity: outsider, ...loopback })
    expect(a.hostKind).toBe('worker')
    expect(a.party.open).toBe(false)
    await linked([a, b])
    await expect
      .poll(() => events.some((e) => e.type === 'handshake-failed' && e.peer === outsider.id), {
        timeout: 20_000,
      })
      .toBe(true)
    const failure = events.find((e) => e.type === 'handshake-failed' && e.peer === outsider.id)
    expect(failure).toMatchObject({ code: 'HANDSHAKE_NOT_IN_ROSTER' })
    expect(a.party.peers().map((p) => p.peer)).toEqual([ib.id])
    expect(c.party.peers().map((p) => p.peer)).not.toContain(ia.id)
  }, 60_000)

  it("host: 'in-thread' runs the host here, with a store object; a named outbox reaches the Worker", async () => {
    const url = await startServer()
    const dir = await mkdtemp(joinPath(tmpdir(), 'conclave-join-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const ports = workerHandles().length
    const inThread = await join({
      signaling: url,
      room: 'stores',
      identity: await generateIdentity(crypto),
      host: 'in-thread',
      outbox: createMemoryOutboxStore(),
      grantStore: createMemoryGrantStore(),
      ...loopback,
    })
    expect(inThread.hostKind).toBe('in-thread')
    expect(workerHandles().length).toBe(ports)
    const outbox = joinPath(dir, 'outbox.jsonl')
    const inWorker = await join({
      signaling: url,
      room: 'stores',
      identity: await generateIdentity(crypto),
      outbox,
      grantStore: joinPath(dir, 'grants.jsonl'),
      ...loopback,
    })
    expect(inWorker.hostKind).toBe('worker')
    await linked([inThread, inWorker])
    expect(await secureSum([inWorker.party, inThread.party], [5n, 6n])).toEqual([11n, 11n])
    await inWorker.stop()
    // the Worker opened the file and journaled its stream epoch there
    expect((await readFile(outbox, 'utf8')).length).toBeGreaterThan(0)
  }, 60_000)
})

describe('joinRoom (Node): bad options', () => {
  const ok = async (): Promise<NodeJoinRoomOptions> => ({
    signaling: 'http://127.0.0.1:9',
    room: 'r',
    identity: await generateIdentity(crypto),
  })

  it.each<[string, (o: NodeJoinRoomOptions) => unknown]>([
    ['no identity', (o) => ({ ...o, identity: undefined })],
    ['an identity without a key', (o) => ({ ...o, identity: { id: 'x' } })],
    ['a room that is not a string', (o) => ({ ...o, room: 7 })],
    ['an empty room', (o) => ({ ...o, room: '' })],
    ['no signaling URL', (o) => ({ ...o, signaling: {} })],
    ['a signaling URL that is not http(s) or ws(s)', (o) => ({ ...o, signaling: 'ftp://x' })],
    ['an unknown transport', (o) => ({ ...o, transport: 'carrier-pigeon' })],
    ['an unknown host', (o) => ({ ...o, host: 'gpu' })],
    ['iceServers that are not an array', (o) => ({ ...o, iceServers: 'stun:x' })],
    ['a roster that is not parsed', (o) => ({ ...o, roster: { version: 1, parties: [] } })],
    ['a crypto backend of another kind than the key', (o) => ({ ...o, crypto: createNobleBackend() })],
    ['an unknown limit', (o) => ({ ...o, limits: { fastest: 1 } })],
    ['an outbox store object beside the Worker host', (o) => ({ ...o, outbox: createMemoryOutboxStore() })],
    ['a grant store object beside the Worker host', (o) => ({ ...o, grantStore: createMemoryGrantStore() })],
    ['an empty outbox path', (o) => ({ ...o, outbox: '' })],
    ['a label over 64 characters', (o) => ({ ...o, label: 'x'.repeat(65) })],
    ['a signal that is not an AbortSignal', (o) => ({ ...o, signal: 'stop' })],
  ])('refuses %s with INVALID_ARGUMENT, before any Worker starts', async (_, change) => {
    const workers = workerHandles().length
    const options = change(await ok()) as NodeJoinRoomOptions
    await expect(joinRoom(options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(createRoomParty(options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(workerHandles().length).toBe(workers)
  })

  it('an aborted signal: ABORTED, nothing started', async () => {
    const controller = new AbortController()
    controller.abort()
    const workers = workerHandles().length
    await expect(joinRoom({ ...(await ok()), signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    })
    expect(workerHandles().length).toBe(workers)
  })

  it('an unreachable server: aborting the join, or the start, stops everything it started', async () => {
    const before = resources()
    // aborted while joining (the Worker host may still be starting)
    const controller = new AbortController()
    const joining = joinRoom({ ...(await ok()), signal: controller.signal })
    setTimeout(() => controller.abort(), 500)
    await expect(joining).rejects.toMatchObject({ code: 'ABORTED' })
    // aborted while registering: the Worker host runs by then
    const room = await createRoomParty(await ok())
    expect(workerHandles().length).toBeGreaterThan(0)
    await expect(room.start({ signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ code: 'ABORTED' })
    expect(await settled(() => extra(before, resources()), 5000)).toEqual([])
    await expect(room.start()).rejects.toMatchObject({ code: 'NOT_STARTED' })
  })

  it('without @roamhq/wrtc: WEBRTC_UNAVAILABLE for webrtc and hybrid, and the relay still joins', async () => {
    const url = await startServer()
    // a process that has never loaded wrtc (Node caches a module it has resolved once)
    const child = spawnJsonLines('no-wrtc', NO_WRTC, [url], { nodeArgs: FROM_SOURCE })
    cleanups.push(() => child.kill())
    await child.waitFor((l) => l.event === 'done', 30_000, 'done')
    const tried = child.lines.filter((l) => l.event === 'tried')
    expect(tried.map((l) => [l.transport, l.code ?? l.kind])).toEqual([
      ['webrtc', 'WEBRTC_UNAVAILABLE'],
      ['hybrid', 'WEBRTC_UNAVAILABLE'],
      ['relay', 'relay'],
    ])
    expect(tried[0]?.message).toContain('npm install @roamhq/wrtc')
    // nothing was left running: the child ends on its own
    const timeout = new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000).unref())
    expect(await Promise.race([child.exited, timeout])).toBe(0)
  })
})
