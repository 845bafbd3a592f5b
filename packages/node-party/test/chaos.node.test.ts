/**
 * Chaos (issue "Nothing lost"): 4 real wrtc parties in child processes (fixtures/chaos-party.ts)
 * with file outbox stores exchange 10,008 numbered messages (4 × 3 × 834) in one session over
 * WebRTC on loopback and a real signaling server, while links are cut at random (each party
 * closes its data channels now and then), the signaling server is stopped and started again on
 * the same port, and one party is killed with SIGKILL and started again with its outbox file.
 * From every `recv` line (those printed before the kill included) the test counts lost,
 * duplicated and reordered messages per (sender, receiver): all three must be zero, and no
 * session may abort.
 *
 * A cut is `link.close()`, which the webrtc transport does in two steps (a `close` notice, the
 * far end stops sending and closes, then this end closes): in @roamhq/wrtc a channel closed from
 * the far end while `send()` runs on it crashes the process (SIGSEGV in
 * `RTCDataChannel::Send`, a race with wrtc's signaling thread; see transport/webrtc.ts). Cuts
 * made without the notice killed a party in over half of the runs, which looked like
 * a frozen process until the harness reported how children end. A child that dies, or stops
 * printing (each prints an `alive` line every second), fails the test at once, with its signal.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type PartyId, toHex } from '@conclave/core'
import { afterEach, describe, expect, it } from 'vitest'
import { type JsonLine, type JsonLinesChild, spawnJsonLines } from '../src/testing/json-lines-child.ts'
import { FROM_SOURCE, World } from './harness.ts'

const FIXTURE = fileURLToPath(new URL('./fixtures/chaos-party.ts', import.meta.url))
const MESSAGES = 834 // per (sender, receiver): 4 × 3 × 834 = 10,008 messages
/** A child with no line for this long is taken as frozen (it prints `alive` every second). */
const SILENT_MS = 10_000

let world: World | undefined
afterEach(async () => {
  await world?.cleanup() // kills every child by PID
  world = undefined
})

/** A chaos-party fixture child. */
type FixtureChild = JsonLinesChild<JsonLine>

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('chaos: links cut, signaling restarted, a party killed and restarted with its outbox', () => {
  it('loses, duplicates and reorders nothing', async () => {
    const w = new World()
    world = w
    await w.start()
    const keys = await Promise.all([0, 1, 2, 3].map((i) => w.key(`p${i}`)))
    const ids = keys.map((k) => k.identity.id as PartyId)
    const participants = [...ids].sort()
    const sessionId = toHex(crypto.getRandomValues(new Uint8Array(32)))
    const spawnParty = (i: number, incarnation: number): FixtureChild => {
      const config = {
        signal: w.url,
        room: 'chaos',
        key: keys[i]!.file,
        outbox: join(w.dir, `p${i}.outbox`),
        sessionId,
        participants,
        messages: MESSAGES,
        burst: 6,
        pauseMs: 45,
        cuts: 6,
        cutEveryMs: 900,
      }
      const p = spawnJsonLines(`p${i}#${incarnation}`, FIXTURE, [JSON.stringify(config)], {
        nodeArgs: FROM_SOURCE,
        env: { CONCLAVE_ICE_SERVERS: '' },
      })
      w.children.push(p)
      return p
    }
    const started = Date.now()
    const procs = [0, 1, 2, 3].map((i) => spawnParty(i, 0))
    await Promise.all(procs.map((p) => p.waitFor((l) => l.event === 'ready', 30_000, 'ready')))
    const incarnations: FixtureChild[][] = procs.map((p) => [p])
    const all = (): FixtureChild[] => incarnations.flat()
    const recvCount = (): number =>
      all().reduce((n, p) => n + p.lines.filter((l) => l.event === 'recv').length, 0)
    const total = 4 * 3 * MESSAGES
    const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
      const end = Date.now() + ms
      while (!cond()) {
        // every current incarnation must be up and printing (the killed one is replaced first)
        for (const p of incarnations.map((list) => list[list.length - 1]!)) {
          const why = p.ended
            ? `ended (code ${p.ended.code}, signal ${p.ended.signal})`
            : Date.now() - p.lastLineAt > SILENT_MS
              ? `silent for ${Date.now() - p.lastLineAt} ms`
              : undefined
          if (why) {
            const tail = JSON.stringify(p.lines.slice(-8))
            throw new Error(
              `chaos: ${p.name} ${why} while waiting for ${what} (received ${recvCount()}); last lines: ${tail}; stderr: ${p.stderr.join('').slice(-1000)}`,
            )
          }
        }
        if (Date.now() > end) throw new Error(`chaos: no ${what} in ${ms} ms (received ${recvCount()})`)
        await sleep(50)
      }
    }

    // 1. one party is killed (SIGKILL) a fifth of the way in, and started again with its outbox
    const victim = 3
    await until(() => recvCount() >= total / 5, 30_000, 'first fifth')
    const killedAt = recvCount()
    await procs[victim]!.kill('SIGKILL')
    await sleep(800)
    const again = spawnParty(victim, 1)
    incarnations[victim]!.push(again)
    const ready = await again.waitFor((l) => l.event === 'ready', 30_000, 'ready after restart')

    // 2. the signaling server is stopped for 1.5 s, then started again on its port
    await until(() => recvCount() >= total / 2, 40_000, 'half')
    const port = w.port
    await w.stopServer()
    const serverDownAt = recvCount()
    await sleep(1500)
    await w.startServer(port)

    // 3. everyone finishes
    const current = incarnations.map((list) => list[list.length - 1]!)
    await until(() => current.every((p) => p.lines.some((l) => l.event === 'done')), 60_000, 'done')
    const seconds = (Date.now() - started) / 1000

    // count per (sender, receiver), over every incarnation's lines in order
    let lost = 0
    let duplicated = 0
    let reordered = 0
    let received = 0
    for (const [r, list] of incarnations.entries()) {
      const lines: JsonLine[] = list.flatMap((p) => p.lines)
      for (const s of ids) {
        if (s === ids[r]) continue
        const seq = lines.filter((l) => l.event === 'recv' && l.from === s).map((l) => l.n as number)
        received += seq.length
        const distinct = new Set(seq)
        lost += MESSAGES - distinct.size
        duplicated += seq.length - distinct.size
        for (let i = 1; i < seq.length; i++) if (seq[i]! < seq[i - 1]!) reordered++
      }
    }
    const cuts = all().reduce((n, p) => n + p.lines.filter((l) => l.event === 'cut').length, 0)
    const aborted = all().flatMap((p) => p.lines.filter((l) => l.event === 'aborted' || l.event === 'error'))
    console.info(
      `chaos: ${received} messages received in ${seconds.toFixed(1)} s; ${cuts} links cut; party ${victim} killed after ${killedAt} and resumed (${JSON.stringify(ready.resumed)}); signaling server down after ${serverDownAt}; lost ${lost}, duplicated ${duplicated}, reordered ${reordered}`,
    )
    expect(aborted).toEqual([])
    expect({ lost, duplicated, reordered }).toEqual({ lost: 0, duplicated: 0, reordered: 0 })
    expect(received).toBe(total)
    expect(ready.resumed).not.toBeNull() // it resumed from its outbox, not from scratch
    expect(cuts).toBeGreaterThan(4)
    expect(killedAt).toBeLessThan(total)
    expect(serverDownAt).toBeLessThan(total)
  }, 120_000)
})
