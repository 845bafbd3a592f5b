/**
 * The mesh section: connection times of 2, 4 and 8 Conclave processes (after a cold round),
 * then the protocols among 5 of them (`secure-sum.ts`, `frost.ts`).
 * @module
 */
import { Child } from '../children.ts'
import { CONFIG, REPS, script, want, wantFrost } from '../config.ts'
import { bringDown, bringUp, prepare } from '../parties.ts'
import { details, fail, progress, record, sleep } from '../results.ts'
import type { Server } from '../server.ts'
import { fmt, round } from '../stats.ts'
import { frostReps } from './frost.ts'
import { secureSumReps } from './secure-sum.ts'

/** Connection times of the mesh sizes, then the protocols among `sumParties` of the processes. */
export async function meshSection(server: Server): Promise<void> {
  const biggest = Math.max(
    ...(want('mesh') ? CONFIG.meshSizes : [0]),
    want('sum') || wantFrost() ? CONFIG.sumParties : 0,
  )
  progress(`── mesh: ${biggest} Conclave parties, one process each ──`)
  const procs = Array.from(
    { length: biggest },
    (_, i) => new Child(`party-${i + 1}`, script('conclave-peer.ts'), [], { profile: i === 0 }),
  )
  await Promise.all(procs.map((c) => c.next('loaded', 60_000)))

  if (want('mesh')) {
    // one untimed round so every process has loaded wrtc, socket.io and WebCrypto once
    const warm = await prepare(procs)
    const cold = await bringUp(server, warm)
    await bringDown(warm)
    details[`mesh${biggest}_cold_ms`] = round(cold.ms)
    progress(
      `mesh of ${biggest} (cold processes, not counted): ${cold.ok ? `${fmt(cold.ms)} ms` : cold.error}`,
    )
    for (let rep = 1; rep <= REPS; rep++) {
      for (const n of CONFIG.meshSizes) {
        const name = n === 2 ? 'pair_connect_ms' : `mesh${n}_ms`
        try {
          const parties = await prepare(procs.slice(0, n))
          const r = await bringUp(server, parties)
          await bringDown(parties)
          if (!r.ok) throw new Error(r.error)
          record(name, r.ms)
          record(`${name.replace('_ms', '')}_registered_ms`, r.registeredMs)
          progress(
            `${String(n).padStart(2)} parties rep ${rep}/${REPS}: all connected and handshaken in ${fmt(r.ms)} ms (all registered at ${fmt(r.registeredMs)} ms, first link ready at ${fmt(r.firstReadyMs)} ms)`,
          )
        } catch (e) {
          fail(`mesh of ${n} rep ${rep}`, e)
        }
        await sleep(200)
      }
    }
  }

  if (want('sum') || wantFrost()) {
    try {
      const parties = await prepare(procs.slice(0, CONFIG.sumParties))
      const up = await bringUp(server, parties)
      if (!up.ok) throw new Error(up.error)
      if (want('sum')) await secureSumReps(parties).catch((e: unknown) => fail('secure-sum', e))
      if (wantFrost()) await frostReps(parties)
      await bringDown(parties)
    } catch (e) {
      fail(`protocols among ${CONFIG.sumParties}`, e)
    }
  }

  for (const c of procs) await c.stop()
}
