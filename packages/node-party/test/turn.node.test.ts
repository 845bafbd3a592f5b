/**
 * TURN: a real coturn (`turnserver`) on 127.0.0.1, started here, and two wrtc parties with
 * `iceTransportPolicy: 'relay'`: every ICE candidate is a relay candidate of that coturn, the
 * link comes up through it and carries a secure-sum. Credentials matter: static long-term
 * ones (`--user`) and time-limited TURN REST ones (`--use-auth-secret`, minted as
 * docs/deploy.md says); a wrong or expired credential gets no candidate and no link.
 */
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { skipWithout } from '../../signaling-server/test/daemons.ts'
import { FROM_SOURCE } from './harness.ts'
import { startTurn as startTurnDaemon } from './turn-daemon.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Start coturn (see turn-daemon.ts), stopped after the test. */
const startTurn = (auth: string[]) => startTurnDaemon(auth, (stop) => cleanups.push(stop))

/** TURN REST credentials (coturn `--use-auth-secret`): `<expiry>:<name>` and its HMAC-SHA1. */
function restCredentials(secret: string, name: string, ttlSeconds: number) {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${name}`
  const credential = createHmac('sha1', secret).update(username).digest('base64')
  return { username, credential }
}

/** What the relay-pair fixture prints. */
interface RelayPairResult {
  totals?: string[]
  error?: string
  candidates: string[]
  pairs: [string, string][]
  transports: string[]
  webrtcMessagesReceived: number
}

const FIXTURE = fileURLToPath(new URL('./fixtures/relay-pair.ts', import.meta.url))

/**
 * Run two relay-only parties with `iceServers` in a child process (see fixtures/relay-pair.ts:
 * wrtc connections on TURN sometimes crash the process that closes them) and read its result.
 */
async function relayPair(iceServers: RTCIceServer[], waitMs: number): Promise<RelayPairResult> {
  const child = spawn(process.execPath, [...FROM_SOURCE, FIXTURE], {
    env: {
      ...process.env,
      CONCLAVE_ICE_SERVERS: JSON.stringify(iceServers),
      RELAY_PAIR_WAIT_MS: String(waitMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL')
  }
  cleanups.push(kill)
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const timer = setTimeout(kill, waitMs + 20_000)
  await new Promise((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  const line = out.split('\n').find((l) => l.startsWith('{'))
  if (!line)
    throw new Error(`relay-pair fixture printed no result (exit ${child.exitCode}): ${err.slice(-2000)}`)
  return JSON.parse(line) as RelayPairResult
}

const typ = (candidate: string): string | undefined => /\styp\s(\S+)/.exec(candidate)?.[1]

describe.skipIf(skipWithout('turnserver', 'coturn'))('TURN relay (coturn on 127.0.0.1)', () => {
  it('static credentials: two parties link through the relay only and run secure-sum', async () => {
    const turn = await startTurn(['--lt-cred-mech', '--user=u:p'])
    const r = await relayPair(
      [{ urls: `turn:127.0.0.1:${turn.port}`, username: 'u', credential: 'p' }],
      20_000,
    )
    expect(r.error).toBeUndefined()
    expect(r.totals).toEqual(['42', '42'])
    // both ends of the link: the candidate pair ICE selected is relay ↔ relay
    expect(r.pairs).toEqual([
      ['relay', 'relay'],
      ['relay', 'relay'],
    ])
    // every candidate gathered or received is a relay address of this coturn, on loopback
    expect(r.candidates.length).toBeGreaterThan(0)
    expect(new Set(r.candidates.map(typ))).toEqual(new Set(['relay']))
    for (const c of r.candidates) expect(c.split(' ')[4]).toBe('127.0.0.1')
    expect(r.transports).toEqual(['webrtc'])
    expect(r.webrtcMessagesReceived).toBeGreaterThan(0)
  }, 60_000)

  it('a wrong password gets no relay candidate and no link', async () => {
    const turn = await startTurn(['--lt-cred-mech', '--user=u:p'])
    const r = await relayPair(
      [{ urls: `turn:127.0.0.1:${turn.port}`, username: 'u', credential: 'wrong' }],
      3000,
    )
    expect(r.error).toBe('PEER_UNREACHABLE')
    expect(r.candidates).toEqual([])
    expect(r.transports).toEqual([])
  }, 30_000)

  it('time-limited REST credentials (use-auth-secret) work until they expire', async () => {
    const secret = 'test-secret-not-for-production'
    const turn = await startTurn(['--use-auth-secret', `--static-auth-secret=${secret}`])
    const urls = `turn:127.0.0.1:${turn.port}`
    const fresh = await relayPair([{ urls, ...restCredentials(secret, 'alice', 600) }], 20_000)
    expect(fresh.totals).toEqual(['42', '42'])
    expect(fresh.pairs).toEqual([
      ['relay', 'relay'],
      ['relay', 'relay'],
    ])
    expect(new Set(fresh.candidates.map(typ))).toEqual(new Set(['relay']))

    const expired = await relayPair([{ urls, ...restCredentials(secret, 'bob', -60) }], 3000)
    expect(expired.error).toBe('PEER_UNREACHABLE')
    expect(expired.candidates).toEqual([])
  }, 60_000)
})
