import type { Party, SessionId } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { runSecureSum } from '../src/index.ts'
import { startMemoryParties } from '../src/testing.ts'

const parties: Party[] = []
afterEach(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

async function mesh(n: number, backend: 'node' | 'noble') {
  const list = await startMemoryParties(n, backend === 'node' ? createNodeCrypto() : createNobleBackend())
  parties.push(...list)
  return list
}

describe('secure-sum over the memory transport', () => {
  for (const backend of ['node', 'noble'] as const) {
    it(`5 parties agree on the total (${backend} crypto)`, async () => {
      const ps = await mesh(5, backend)
      const sid = 'ab'.repeat(32) as SessionId
      const ids = ps.map((p) => p.id)
      const inputs = [5n, -7n, 1000n, 123456789012345678901234567890n, 0n]
      const results = await Promise.all(
        ps.map((p, i) => runSecureSum(p.session({ id: sid, participants: ids }), inputs[i]!)),
      )
      const expected = inputs.reduce((a, b) => a + b, 0n)
      expect(results).toEqual(ps.map(() => expected))
      // every share travelled encrypted over a link: nothing was refused
      for (const p of ps) expect(p.counters().drops).toEqual({})
    })
  }

  it('refuses an input out of range with its code', async () => {
    const ps = await mesh(2, 'noble')
    const s = ps[0]!.session({ id: 'cd'.repeat(32) as SessionId, participants: ps.map((p) => p.id) })
    await expect(runSecureSum(s, 1n << 127n)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
