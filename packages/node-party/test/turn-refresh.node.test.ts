/**
 * TURN credentials that expire (issue #20), against a real coturn on 127.0.0.1 with
 * `--use-auth-secret` and relay-only wrtc parties: with `iceServers` a function that mints
 * credentials per attempt, a link lost after the credentials it was made with expired is made
 * again, through the relay, with fresh ones; with the same credentials as a fixed list (the
 * negative control) it is not. And `conclave-party --turn-url` with `CONCLAVE_TURN_SECRET` links
 * through that coturn with credentials it minted itself.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { skipWithout } from '../../signaling-server/test/daemons.ts'
import { isEvent } from '../src/events.ts'
import { spawnParty } from '../src/testing/party.ts'
import { FROM_SOURCE, World } from './harness.ts'
import { startTurn } from './turn-daemon.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const SECRET = 'test-secret-not-for-production'
/** How long each minted credential is valid. */
const TTL_SECONDS = 3
const FIXTURE = fileURLToPath(new URL('./fixtures/turn-relink.ts', import.meta.url))

/** What the turn-relink fixture prints. */
interface RelinkResult {
  mode: 'fresh' | 'fixed'
  error?: string
  firstTotals?: string[]
  firstPairs?: [string, string][]
  dropAt?: number
  expiredAt?: number
  relinked?: boolean
  relinkMs?: number
  secondTotals?: string[]
  secondPairs?: [string, string][]
  mintedAfterDrop?: { username: string; at: number }[]
  minted: { username: string; at: number }[]
  candidates: { at: number; candidate: string }[]
  states: { a: string[]; b: string[] }
}

/** Run the fixture (in a child: closing wrtc connections on TURN may crash the process that does). */
async function relink(turnUrl: string, mode: 'fresh' | 'fixed', relinkWaitMs: number): Promise<RelinkResult> {
  const child = spawn(process.execPath, [...FROM_SOURCE, FIXTURE], {
    env: {
      ...process.env,
      TURN_URL: turnUrl,
      TURN_SECRET: SECRET,
      TURN_TTL: String(TTL_SECONDS),
      MODE: mode,
      RELINK_WAIT_MS: String(relinkWaitMs),
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
  // first link and its secure-sum, the wait for expiry, the relink wait, a second secure-sum
  const timer = setTimeout(kill, 10_000 + (TTL_SECONDS + 2) * 1000 + relinkWaitMs + 15_000)
  await new Promise((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  const line = out.split('\n').find((l) => l.startsWith('{'))
  if (!line)
    throw new Error(`turn-relink fixture printed no result (exit ${child.exitCode}): ${err.slice(-2000)}`)
  return JSON.parse(line) as RelinkResult
}

const typ = (candidate: string): string | undefined => /\styp\s(\S+)/.exec(candidate)?.[1]
const expiryMs = (username: string): number => Number(username.split(':')[0]) * 1000
const relayRelay: [string, string][] = [
  ['relay', 'relay'],
  ['relay', 'relay'],
]

describe.skipIf(skipWithout('turnserver', 'coturn'))(
  'TURN credentials that expire (coturn on 127.0.0.1)',
  () => {
    it('a link lost after its credentials expired is made again through the relay, with fresh credentials', async () => {
      const turn = await startTurn(['--use-auth-secret', `--static-auth-secret=${SECRET}`], (s) =>
        cleanups.push(s),
      )
      const r = await relink(`turn:127.0.0.1:${turn.port}`, 'fresh', 15_000)
      expect(r.error).toBeUndefined()
      expect(r.firstTotals).toEqual(['42', '42'])
      expect(r.firstPairs).toEqual(relayRelay)
      // the link was dropped once every credential minted before had expired
      expect(r.dropAt!).toBeGreaterThan(r.expiredAt!)
      for (const m of r.minted.filter((m) => m.at < r.dropAt!))
        expect(expiryMs(m.username)).toBeLessThan(r.dropAt!)
      // made again, through the relay, carrying a secure-sum
      expect(r.relinked).toBe(true)
      expect(r.secondTotals).toEqual(['42', '42'])
      expect(r.secondPairs).toEqual(relayRelay)
      // the function was asked again (both ends: each made a new RTCPeerConnection), and what it
      // gave was fresh: valid past the drop, and a username not seen before it
      const after = r.mintedAfterDrop!
      expect(after.length).toBeGreaterThanOrEqual(2)
      const before = new Set(r.minted.filter((m) => m.at < r.dropAt!).map((m) => m.username))
      for (const m of after) {
        expect(expiryMs(m.username)).toBeGreaterThan(r.dropAt!)
        expect(before.has(m.username)).toBe(false)
      }
      // relay candidates of this coturn were gathered again after the drop, and only those
      const later = r.candidates.filter((c) => c.at > r.dropAt!).map((c) => c.candidate)
      expect(later.length).toBeGreaterThan(0)
      expect(new Set(later.map(typ))).toEqual(new Set(['relay']))
      for (const c of later) expect(c.split(' ')[4]).toBe('127.0.0.1')
    }, 90_000)

    it('negative control: the same credentials as a fixed list, expired, do not make the link again', async () => {
      const turn = await startTurn(['--use-auth-secret', `--static-auth-secret=${SECRET}`], (s) =>
        cleanups.push(s),
      )
      const r = await relink(`turn:127.0.0.1:${turn.port}`, 'fixed', 10_000)
      expect(r.error).toBeUndefined()
      // they worked while valid: the first link is the same as with fresh credentials
      expect(r.firstTotals).toEqual(['42', '42'])
      expect(r.firstPairs).toEqual(relayRelay)
      expect(r.minted).toHaveLength(1)
      expect(r.dropAt!).toBeGreaterThan(r.expiredAt!)
      // expired: coturn gives no relay candidate, so no link within the wait, however often tried
      expect(r.relinked).toBe(false)
      expect(r.candidates.filter((c) => c.at > r.dropAt!)).toEqual([])
      expect(r.states.a.filter((s) => s.startsWith('backoff')).length).toBeGreaterThanOrEqual(1)
    }, 90_000)

    it('conclave-party --turn-url with CONCLAVE_TURN_SECRET: relay-only parties link with credentials they minted', async () => {
      const turn = await startTurn(['--use-auth-secret', `--static-auth-secret=${SECRET}`], (s) =>
        cleanups.push(s),
      )
      const world = new World()
      await world.start()
      cleanups.push(() => world.cleanup())
      const keys = await Promise.all(['p0', 'p1'].map((n) => world.key(n)))
      const parties = keys.map(({ file }, i) => {
        const p = spawnParty(
          `p${i}`,
          [
            'run',
            '--json',
            '--loopback-only',
            '--ice-relay-only',
            '--signal',
            world.url,
            '--room',
            'turn-cli',
            '--key',
            file,
            '--turn-url',
            `turn:127.0.0.1:${turn.port}`,
            '--turn-ttl',
            '600',
            '--protocol',
            'secure-sum',
            '--input',
            String(20 + i),
            '--parties',
            '2',
          ],
          // the secret from the environment, not argv
          { env: { CONCLAVE_TURN_SECRET: SECRET } },
        )
        world.children.push(p)
        return p
      })
      const results = await Promise.all(parties.map((p) => p.waitFor(isEvent('result'), 60_000, 'result')))
      for (const r of results) expect(r.total).toBe('41')
      expect(await Promise.all(parties.map((p) => p.exited))).toEqual([0, 0])
      for (const p of parties) {
        expect(p.lines.filter(isEvent('peer', (l) => l.state === 'ready')).map((l) => l.transport)).toEqual([
          'webrtc',
        ])
      }
      // relay only, and this coturn takes TURN REST credentials only: the link exists because the
      // credentials each party minted itself were good (no other ICE server was configured)
    }, 90_000)
  },
)
