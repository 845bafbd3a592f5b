/**
 * Finished session ids survive a restart (#16 item 6): the bounded file keeps them, and a
 * restarted `runCoordinated` declines (`SESSION_FINISHED`) a proposal it has run already while
 * a new one is still joined.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Party } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { startMemoryParties } from '@conclave/protocols/testing'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { runCoordinated } from '../src/coordinate.ts'
import type { CoordinationEvent } from '../src/events.ts'
import { createFinishedSessionsFile } from '../src/finished-sessions.ts'

const parties: Party[] = []
afterEach(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

/** A fresh `sessions.txt` path in a temporary directory removed when the test ends. */
async function sessionsFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-finished-'))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'sessions.txt')
}

describe('finished sessions file', () => {
  it('keeps the ids across re-opening, and only the newest max of them', async () => {
    const file = await sessionsFile()
    const a = createFinishedSessionsFile(file, 2)
    a.add('s1')
    a.add('s2')
    a.add('s1')
    expect(createFinishedSessionsFile(file, 2).has('s1')).toBe(true)
    a.add('s3')
    a.add('s4')
    expect(a.has('s1')).toBe(false)
    expect((await readFile(file, 'utf8')).trim().split('\n')).toEqual(['s3', 's4'])
    const b = createFinishedSessionsFile(file, 2)
    expect([b.has('s2'), b.has('s3'), b.has('s4')]).toEqual([false, true, true])
  })
})

describe('runCoordinated with finished sessions', () => {
  it('a restarted follower declines a session its file says it ran, and joins a new one', async () => {
    const file = await sessionsFile()
    const ps = await startMemoryParties(2, createNobleBackend())
    parties.push(...ps)
    const [a, b] = ps as [Party, Party]
    await a.connect(b.id)
    await Promise.all([
      a.waitForPeers([b.id], { timeoutMs: 5000 }),
      b.waitForPeers([a.id], { timeoutMs: 5000 }),
    ])
    const events: CoordinationEvent[] = []
    const follow = () =>
      runCoordinated(b, {
        protocol: 'echo',
        parties: 2,
        follow: true,
        finished: createFinishedSessionsFile(file),
        roundTimeoutMs: 10_000,
        deadline: Date.now() + 15_000,
        maxAttempts: 1,
        run: async (s) => s.id,
        progress: (e) => events.push(e),
      })
    const first = await a.propose({ protocol: 'echo', participants: [a.id, b.id] })
    // a previous run of this party (before a restart) ran `first`: its id is in the file
    createFinishedSessionsFile(file).add(first.id)
    const again = follow()
    const end = Date.now() + 10_000
    while (!events.some((e) => e.event === 'declined') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20))
    expect(events.filter((e) => e.event === 'declined')).toEqual([
      expect.objectContaining({ sessionId: first.id, code: 'SESSION_FINISHED' }),
    ])
    const second = await a.propose({ protocol: 'echo', participants: [a.id, b.id] })
    expect(await again).toBe(second.id)
    first.close()
    second.close()
  })
})
