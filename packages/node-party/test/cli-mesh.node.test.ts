/**
 * `conclave-party` children over real WebRTC (wrtc, loopback candidates only) and a real
 * signaling server: a 4-party mesh agrees on a secure-sum total; a party killed and restarted
 * with the same key mid-run rejoins and the run still completes; a roster refuses an outsider.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isEvent } from '../src/events.ts'
import { World } from './harness.ts'

let world: World | undefined
afterEach(async () => {
  await world?.cleanup()
  world = undefined
})

const isResult = isEvent('result')

describe('conclave-party over WebRTC', () => {
  it('4 parties form a full mesh and agree on the secure-sum total', async () => {
    world = new World()
    await world.start()
    const inputs = [11, -3, 250, 7]
    const procs = []
    for (const [i, input] of inputs.entries()) {
      const { file } = await world.key(`p${i}`)
      procs.push(
        world.party(`p${i}`, [
          '--room',
          'mesh',
          '--key',
          file,
          '--protocol',
          'secure-sum',
          '--input',
          String(input),
          '--parties',
          '4',
        ]),
      )
    }
    const results = await Promise.all(procs.map((p) => p.waitFor(isResult, 60_000, 'result')))
    for (const r of results) expect(r.total).toBe(String(inputs.reduce((a, b) => a + b, 0)))
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0])
    // every party had a ready link to each of the three others (a full mesh over webrtc)
    for (const p of procs) {
      const ready = new Set(
        p.lines
          .filter(isEvent('peer', (l) => l.state === 'ready' && l.transport === 'webrtc'))
          .map((l) => l.peer),
      )
      expect(ready.size).toBe(3)
    }
  }, 90_000)

  it('a party killed and restarted with the same key mid-run rejoins, and the run completes', async () => {
    world = new World()
    await world.start()
    const keys = await Promise.all([0, 1, 2, 3].map((i) => world!.key(`p${i}`)))
    const args = (i: number): string[] => [
      '--room',
      'restart',
      '--key',
      keys[i]!.file,
      '--protocol',
      'secure-sum',
      '--input',
      String(i + 1),
      '--parties',
      '4',
      '--round-timeout',
      '4000',
    ]
    const [a, b, c] = [0, 1, 2].map((i) => world!.party(`p${i}`, args(i)))
    const d1 = world.party('p3', args(3))
    // kill d as soon as it has its first working link: the others are mid-way through linking
    await d1.waitFor((l) => l.event === 'peer' && l.state === 'ready', 30_000, 'first ready link')
    d1.kill('SIGKILL')
    await d1.exited
    const d2 = world.party('p3-again', args(3))
    const all = [a!, b!, c!, d2]
    const results = await Promise.all(all.map((p) => p.waitFor(isResult, 90_000, 'result')))
    for (const r of results) expect(r.total).toBe('10')
    // the restarted party linked again to all three others
    const ready = new Set(d2.lines.filter(isEvent('peer', (l) => l.state === 'ready')).map((l) => l.peer))
    expect(ready.size).toBe(3)
    expect(await Promise.all(all.map((p) => p.exited))).toEqual([0, 0, 0, 0])
  }, 120_000)

  it('with a roster, a party not on it is refused and the listed ones complete', async () => {
    world = new World()
    await world.start()
    const keys = await Promise.all([0, 1, 2, 3].map((i) => world!.key(`p${i}`)))
    const roster = await world.roster(
      'r',
      keys.slice(0, 3).map((k) => k.identity.id),
    )
    // the outsider is in the room first, so every listed party meets it (and refuses it) while
    // it forms its mesh, however quickly the sum then completes
    const outsider = world.party('outsider', ['--room', 'roster', '--key', keys[3]!.file])
    await outsider.waitFor((l) => l.event === 'ready', 30_000, 'outsider ready')
    const listed = [0, 1, 2].map((i) =>
      world!.party(`p${i}`, [
        '--room',
        'roster',
        '--key',
        keys[i]!.file,
        '--roster',
        roster,
        '--protocol',
        'secure-sum',
        '--input',
        '5',
        '--parties',
        '3',
      ]),
    )
    const results = await Promise.all(listed.map((p) => p.waitFor(isResult, 60_000, 'result')))
    for (const r of results) expect(r.total).toBe('15')
    const refusals = listed.flatMap((p) =>
      p.lines.filter(isEvent('handshake-failed', (l) => l.peer === keys[3]!.identity.id)),
    )
    expect(refusals.length).toBeGreaterThan(0)
    for (const r of refusals) expect(r.code).toBe('HANDSHAKE_NOT_IN_ROSTER')
    for (const p of listed) expect(p.lines.some((l) => l.event === 'ready' && l.mode === 'roster')).toBe(true)
    expect(outsider.lines.some((l) => l.event === 'peer' && l.state === 'ready')).toBe(false)
  }, 90_000)
})
