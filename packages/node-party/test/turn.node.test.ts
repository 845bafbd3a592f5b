/**
 * TURN: a real coturn (`turnserver`) on 127.0.0.1, started here, and two wrtc parties with
 * `iceTransportPolicy: 'relay'`: every ICE candidate is a relay candidate of that coturn, the
 * link comes up through it and carries a secure-sum. Credentials matter: static long-term
 * ones (`--user`) and time-limited TURN REST ones (`--use-auth-secret`, minted as
 * docs/deploy.md says); a wrong or expired credential gets no candidate and no link.
 */
import { createHmac } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createParty,
  createSignalingClient,
  createWebRtcTransport,
  generateIdentity,
  loopbackOnly,
  type Party,
} from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { runSecureSum } from '@conclave/protocols'
import { createSignalingServer } from '@conclave/signaling-server'
import { afterEach, describe, expect, it } from 'vitest'
import { type Daemon, skipWithout, startDaemon } from '../../signaling-server/test/daemons.ts'
import { loadSimplePeer, loadWrtc } from '../src/node-party.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Whether something accepts TCP connections on 127.0.0.1:port (coturn listens on TCP and UDP). */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Start coturn on 127.0.0.1 only, relaying on 127.0.0.1, with `auth` flags. */
async function startTurn(auth: string[]): Promise<Daemon> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-turn-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  // a random relay port range; coturn skips ports it cannot bind
  const minPort = 40_000 + Math.floor(Math.random() * 200) * 100
  const turn = await startDaemon(
    'turnserver',
    (port) => [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      '--realm=conclave',
      ...auth,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      '--fingerprint',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
    ],
    tcpOpen,
    'turnserver',
  )
  cleanups.push(() => turn.stop())
  return turn
}

/** TURN REST credentials (coturn `--use-auth-secret`): `<expiry>:<name>` and its HMAC-SHA1. */
function restCredentials(secret: string, name: string, ttlSeconds: number) {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${name}`
  const credential = createHmac('sha1', secret).update(username).digest('base64')
  return { username, credential }
}

/** Two parties that may only use relay candidates of `iceServers`; every candidate is recorded. */
async function relayPair(iceServers: RTCIceServer[]) {
  const crypto = createNodeCrypto()
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  cleanups.push(() => server.stop())
  const candidates: string[] = []
  const make = async (): Promise<Party> => {
    const id = await generateIdentity(crypto)
    const signaling = createSignalingClient({
      url,
      publicKey: id.key.publicKey,
      sign: (bytes) => crypto.ed25519.sign(id.key, bytes),
    })
    const transport = createWebRtcTransport({
      signaling,
      room: 'turn',
      SimplePeer: loadSimplePeer(),
      wrtc: loadWrtc(),
      iceServers,
      iceTransportPolicy: 'relay',
      candidateFilter: (candidate) => {
        candidates.push(candidate)
        return loopbackOnly(candidate)
      },
      connectTimeoutMs: 5000,
    })
    const party = createParty({ identity: id.key, crypto, transport })
    cleanups.push(async () => {
      await party.stop()
      signaling.stop()
    })
    void signaling.start().catch(() => undefined)
    await party.start()
    return party
  }
  const a = await make()
  const b = await make()
  return { a, b, candidates }
}

async function sumOverRelay(a: Party, b: Party): Promise<bigint[]> {
  await Promise.all([
    a.waitForPeers([b.id], { timeoutMs: 20_000 }),
    b.waitForPeers([a.id], { timeoutMs: 20_000 }),
  ])
  const joined = new Promise<bigint>((resolve, reject) => {
    b.on('proposal', (ev) => runSecureSum(b.join(ev.proposal.sessionId), 30n).then(resolve, reject))
  })
  const session = await a.propose({ protocol: 'secure-sum', participants: [a.id, b.id] })
  return Promise.all([runSecureSum(session, 12n), joined])
}

const typ = (candidate: string): string | undefined => /\styp\s(\S+)/.exec(candidate)?.[1]

describe.skipIf(skipWithout('turnserver', 'coturn'))('TURN relay (coturn on 127.0.0.1)', () => {
  it('static credentials: two parties link through the relay only and run secure-sum', async () => {
    const turn = await startTurn(['--lt-cred-mech', '--user=u:p'])
    const { a, b, candidates } = await relayPair([
      { urls: `turn:127.0.0.1:${turn.port}`, username: 'u', credential: 'p' },
    ])
    expect(await sumOverRelay(a, b)).toEqual([42n, 42n])
    expect(candidates.length).toBeGreaterThan(0)
    expect(new Set(candidates.map(typ))).toEqual(new Set(['relay']))
    // every candidate is an address of this coturn's relay range on loopback
    for (const c of candidates) expect(c.split(' ')[4]).toBe('127.0.0.1')
    expect(a.peers().map((p) => p.transport)).toEqual(['webrtc'])
    expect(a.counters().byTransport.webrtc?.messagesReceived ?? 0).toBeGreaterThan(0)
  }, 60_000)

  it('a wrong password gets no relay candidate and no link', async () => {
    const turn = await startTurn(['--lt-cred-mech', '--user=u:p'])
    const { a, b, candidates } = await relayPair([
      { urls: `turn:127.0.0.1:${turn.port}`, username: 'u', credential: 'wrong' },
    ])
    await new Promise((r) => setTimeout(r, 3000))
    expect(candidates).toEqual([])
    expect(a.peers()).toEqual([])
    expect(b.peers()).toEqual([])
  }, 30_000)

  it('time-limited REST credentials (use-auth-secret) work until they expire', async () => {
    const secret = 'test-secret-not-for-production'
    const turn = await startTurn(['--use-auth-secret', `--static-auth-secret=${secret}`])
    const fresh = await relayPair([
      { urls: `turn:127.0.0.1:${turn.port}`, ...restCredentials(secret, 'alice', 600) },
    ])
    expect(await sumOverRelay(fresh.a, fresh.b)).toEqual([42n, 42n])
    expect(new Set(fresh.candidates.map(typ))).toEqual(new Set(['relay']))

    const expired = await relayPair([
      { urls: `turn:127.0.0.1:${turn.port}`, ...restCredentials(secret, 'bob', -60) },
    ])
    await new Promise((r) => setTimeout(r, 3000))
    expect(expired.candidates).toEqual([])
    expect(expired.a.peers()).toEqual([])
  }, 60_000)
})
