/**
 * The params a `conclave-party` proposal carries: the FROST ones are encoded by the same
 * functions as the web demo's (`@conclave/protocols`), and `runCoordinated` puts them in its
 * proposals.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Party, type SessionId, toHex } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import {
  decodeFrostDkgParams,
  decodeFrostSignParams,
  encodeKeyShare,
  FROST_DKG,
  runFrostDkg,
} from '@conclave/protocols'
import { startMemoryParties } from '@conclave/protocols/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { parseCommandLine, type RunArgs } from '../src/args.ts'
import { runCoordinated } from '../src/coordinate.ts'
import { prepareProtocol } from '../src/protocols.ts'

const base = ['run', '--signal', 'http://127.0.0.1:1', '--room', 'r', '--key', 'k.json', '--parties', '2']
const enc = new TextEncoder()
const parties: Party[] = []
let dir: string | undefined

afterEach(async () => {
  for (const p of parties.splice(0)) await p.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

async function twoParties(): Promise<[Party, Party]> {
  parties.push(...(await startMemoryParties(2, createNobleBackend())))
  return parties as [Party, Party]
}

const args = (extra: string[]): RunArgs => parseCommandLine([...base, ...extra], {}) as RunArgs

describe('conclave-party proposal params', () => {
  it('frost-dkg proposals carry the threshold in the shared params format', async () => {
    dir = await mkdtemp(join(tmpdir(), 'conclave-params-'))
    const run = await prepareProtocol(
      args(['--protocol', 'frost-dkg', '--threshold', '2', '--share', join(dir, 's.json')]),
    )
    expect(decodeFrostDkgParams(run.params!)).toEqual({ threshold: 2 })
  })

  it('frost-sign proposals carry the group key and the message', async () => {
    const [a, b] = await twoParties()
    const id = toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))) as SessionId
    const ids = [a.id, b.id]
    const [share] = await Promise.all(
      [a, b].map((p) => runFrostDkg(p.session({ id, participants: ids }), { threshold: 2 })),
    )
    dir = await mkdtemp(join(tmpdir(), 'conclave-params-'))
    const file = join(dir, 's.json')
    await writeFile(file, encodeKeyShare(share!), { mode: 0o600 })
    const message = enc.encode('pay bob')
    const run = await prepareProtocol(
      args(['--protocol', 'frost-sign', '--share', file, '--message', toHex(message)]),
    )
    expect(decodeFrostSignParams(run.params!)).toEqual({ groupPublicKey: share!.groupPublicKey, message })
  })

  it('runCoordinated proposes with the params it is given', async () => {
    const [a, b] = await twoParties()
    await a.connect(b.id)
    await Promise.all([
      a.waitForPeers([b.id], { timeoutMs: 5000 }),
      b.waitForPeers([a.id], { timeoutMs: 5000 }),
    ])
    const params = enc.encode('{"version":1,"threshold":2}')
    const seen: Uint8Array[] = []
    for (const p of [a, b]) p.on('proposal', (ev) => seen.push(ev.proposal.params))
    const o = { protocol: FROST_DKG, params, parties: 2, roundTimeoutMs: 5000, deadline: Date.now() + 20_000 }
    const ids = await Promise.all([a, b].map((p) => runCoordinated(p, { ...o, run: async (s) => s.id })))
    expect(ids[0]).toBe(ids[1])
    expect(seen).toEqual([params])
  })
})
