/**
 * `conclave-party` children against a hostile signaling server (`fixtures/mitm-server.ts`) that
 * terminates DTLS on every webrtc attempt and rewrites the fingerprint lists inside the hellos:
 * the run cannot complete, and what the operator reads last names the alarm, not the timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isEvent } from '../src/events.ts'
import { type MitmServer, startMitmServer } from './fixtures/mitm-server.ts'
import { World } from './harness.ts'

let world: World | undefined
let mitm: MitmServer | undefined
afterEach(async () => {
  await world?.cleanup()
  await mitm?.stop()
  world = undefined
  mitm = undefined
})

describe('conclave-party and a server that rewrites the hellos', () => {
  it('with --transport hybrid, both runs end on a line naming the alarm, and no relay link to the other party comes up', async () => {
    mitm = await startMitmServer({ rewriteHellos: true })
    world = new World()
    await world.start()
    world.url = mitm.url // the parties meet on the hostile server
    const keys = await Promise.all([0, 1].map((i) => world!.key(`p${i}`)))
    const procs = keys.map((k, i) =>
      world!.party(`p${i}`, [
        '--room',
        'mitm',
        '--key',
        k.file,
        '--transport',
        'hybrid',
        '--protocol',
        'secure-sum',
        '--input',
        String(i + 1),
        '--parties',
        '2',
        '--timeout',
        '8000',
      ]),
    )
    const codes = await Promise.all(procs.map((p) => p.exited))
    expect(codes).toEqual([1, 1])
    for (const [i, p] of procs.entries()) {
      const other = keys[1 - i]!.identity.id
      expect(p.lines.find(isEvent('alarm'))).toMatchObject({ code: 'HANDSHAKE_BAD_SIGNATURE', peer: other })
      // the last line says why the run failed: the alarm, not the deadline it then ran into
      const last = p.lines.at(-1)
      expect(last).toMatchObject({ event: 'error', code: 'HANDSHAKE_BAD_SIGNATURE' })
      expect((last as { message?: string }).message).toMatch(/presumed hostile/)
      expect(p.lines.some((l) => l.event === 'peer' && l.transport === 'relay')).toBe(false)
    }
    expect(mitm.stats.hellosRewritten).toBeGreaterThanOrEqual(2)
    // No relay link ever became ready (checked above: no 'peer' line on the relay), so no session
    // traffic went through the server. A relay dial may still start in the window before a side's
    // alarm (seen under CI load: the webrtc attempt's close reached the hybrid before the host's
    // verdict, 3 relay frames); it is cut when the alarm comes. Closing that window is open work
    // (#16 item 11, closing note); this bounds it to one relay handshake's frames per side.
    expect(mitm.stats.relayFrames).toBeLessThanOrEqual(4)
  }, 60_000)
})
