/**
 * A party joins only what its own flags or roster describe (#16 item 7): `proposalMismatch`
 * names why a proposal does not match, and `runCoordinated` declines such a proposal (a
 * `declined` event with that code) instead of joining it, then still joins the right one.
 */
import type { Party, PartyId, ProposalInfo, SessionId } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { encodeFrostDkgParams, FROST_DKG } from '@conclave/protocols'
import { startMemoryParties } from '@conclave/protocols/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { runCoordinated } from '../src/coordinate.ts'
import type { CoordinationEvent } from '../src/events.ts'
import { proposalMismatch } from '../src/proposal-match.ts'

const parties: Party[] = []
afterEach(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

const t2 = encodeFrostDkgParams({ threshold: 2 })
const t3 = encodeFrostDkgParams({ threshold: 3 })

function info(participants: string[], params: Uint8Array = t2): ProposalInfo {
  return {
    sessionId: 'ab'.repeat(32) as SessionId,
    protocol: FROST_DKG,
    params,
    participants: participants as PartyId[],
    proposer: participants[0] as PartyId,
    receivedAt: 1,
  }
}

describe('proposalMismatch', () => {
  it('accepts a proposal with the expected count, roster members and params', () => {
    const roster = new Set(['a', 'b', 'c'] as PartyId[])
    expect(proposalMismatch(info(['a', 'b', 'c']), { parties: 3, roster, params: t2 })).toBeUndefined()
    expect(proposalMismatch(info(['a', 'b']), {})).toBeUndefined()
  })

  it('declines another count, a participant off the roster, or other params', () => {
    expect(proposalMismatch(info(['a', 'b']), { parties: 3 })?.code).toBe('PROPOSAL_PARTIES')
    const roster = new Set(['a', 'b', 'c'] as PartyId[])
    const stranger = proposalMismatch(info(['a', 'x', 'c']), { parties: 3, roster })
    expect(stranger).toEqual({ code: 'PROPOSAL_STRANGER', reason: 'participant x is not on the roster' })
    expect(proposalMismatch(info(['a', 'b', 'c'], t3), { parties: 3, params: t2 })?.code).toBe(
      'PROPOSAL_PARAMS',
    )
  })
})

/** Three memory parties, fully connected, sorted by id. */
async function three(): Promise<[Party, Party, Party]> {
  const ps = await startMemoryParties(3, createNobleBackend())
  parties.push(...ps)
  ps.sort((x, y) => (x.id < y.id ? -1 : 1))
  const [a, b, c] = ps as [Party, Party, Party]
  await Promise.all([a.connect(b.id), a.connect(c.id), b.connect(c.id)])
  await Promise.all(
    ps.map((p) =>
      p.waitForPeers(
        ps.filter((q) => q !== p).map((q) => q.id),
        { timeoutMs: 5000 },
      ),
    ),
  )
  return [a, b, c]
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('runCoordinated declines what its flags do not describe', () => {
  for (const follow of [false, true]) {
    it(`${follow ? '--follow' : '--parties 3'}: a 2-party or 3-of-3 proposal is declined, the 3-party 2-of-3 one joined`, async () => {
      const [a, b, c] = await three()
      const events: CoordinationEvent[] = []
      const ran: string[] = []
      const victim = runCoordinated(c, {
        protocol: FROST_DKG,
        params: t2,
        parties: 3,
        follow,
        roundTimeoutMs: 20_000,
        deadline: Date.now() + 30_000,
        maxAttempts: 1,
        run: async (s) => {
          ran.push(s.id)
          return s.id
        },
        progress: (e) => events.push(e),
      })
      const declined = (): Extract<CoordinationEvent, { event: 'declined' }>[] =>
        events.filter((e): e is Extract<CoordinationEvent, { event: 'declined' }> => e.event === 'declined')
      // a stranger's 2-of-2 with the victim: the wrong count
      const pair = await a.propose({ protocol: FROST_DKG, params: t2, participants: [a.id, c.id] })
      await until(() => declined().length === 1, 'the first decline')
      expect(declined()[0]).toMatchObject({ sessionId: pair.id, proposer: a.id, code: 'PROPOSAL_PARTIES' })
      // the right count, the wrong threshold
      const all = [a.id, b.id, c.id]
      const wrong = await a.propose({ protocol: FROST_DKG, params: t3, participants: all })
      await until(() => declined().length === 2, 'the second decline')
      expect(declined()[1]).toMatchObject({ sessionId: wrong.id, code: 'PROPOSAL_PARAMS' })
      expect(ran).toEqual([])
      const right = await a.propose({ protocol: FROST_DKG, params: t2, participants: all })
      expect(await victim).toBe(right.id)
      expect(ran).toEqual([right.id])
      expect(events.filter((e) => e.event === 'joined')).toEqual([
        expect.objectContaining({ sessionId: right.id, proposer: a.id }),
      ])
      for (const s of [pair, wrong, right]) s.close()
    })
  }
})
