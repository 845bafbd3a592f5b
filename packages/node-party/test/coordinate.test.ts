/**
 * `runCoordinated` (what `conclave-party run` and `--serve` run) closes each session once its
 * protocol ran, succeeded or failed: a serving party keeps nothing of its past sessions but
 * their ids (issue #16, item 12).
 */

import { type Party, type Session, utf8 } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { startMemoryParties } from '@conclave/protocols/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { runCoordinated } from '../src/coordinate.ts'

const parties: Party[] = []
afterEach(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

async function linkedPair(): Promise<[Party, Party]> {
  const [a, b] = await startMemoryParties(2, createNobleBackend())
  parties.push(a!, b!)
  await a!.connect(b!.id)
  await Promise.all([
    a!.waitForPeers([b!.id], { timeoutMs: 5000 }),
    b!.waitForPeers([a!.id], { timeoutMs: 5000 }),
  ])
  return [a!, b!]
}

const options = { protocol: 'test/echo', parties: 2, roundTimeoutMs: 5000, maxAttempts: 1 }

describe('runCoordinated', () => {
  it('closes the session once its protocol ran, whether it succeeded or failed', async () => {
    const [a, b] = await linkedPair()
    const sessions: Session[] = []
    const exchange = async (s: Session): Promise<string> => {
      sessions.push(s)
      const other = s.others[0]!
      await s.send(other, 1, utf8('hi'))
      return new TextDecoder().decode(await s.receive(other, 1))
    }
    const deadline = Date.now() + 20_000
    const done = await Promise.all(
      [a, b].map((p) => runCoordinated(p, { ...options, deadline, run: exchange })),
    )
    expect(done).toEqual(['hi', 'hi'])
    // a failure that is not retried: the session is closed before the error goes up
    const failing = async (s: Session): Promise<never> => {
      sessions.push(s)
      throw new Error('the protocol failed')
    }
    const failed = await Promise.allSettled(
      [a, b].map((p) => runCoordinated(p, { ...options, deadline, run: failing })),
    )
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(sessions).toHaveLength(4)
    for (const p of [a, b]) expect(p.counters()).toMatchObject({ sessionsOpened: 2, sessionsReleased: 2 })
    for (const s of sessions)
      await expect(s.send(s.others[0]!, 1, utf8('after'))).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
  })
})
