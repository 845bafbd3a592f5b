/**
 * FROST across `conclave-party` processes over real WebRTC: 5 parties run the DKG with
 * threshold 3, then 3 of them sign; the signature verifies with a plain Ed25519 verify
 * against the group public key.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { afterEach, describe, expect, it } from 'vitest'
import { isEvent } from '../src/events.ts'
import { World } from './harness.ts'

let world: World | undefined
afterEach(async () => {
  await world?.cleanup()
  world = undefined
})

const isResult = isEvent('result')

describe('conclave-party FROST', () => {
  it('5 parties create a 3-of-5 group key, 3 of them sign, and the signature verifies', async () => {
    world = new World()
    await world.start()
    const keys = await Promise.all([0, 1, 2, 3, 4].map((i) => world!.key(`p${i}`)))
    const shares = keys.map((_, i) => join(world!.dir, `share-${i}.json`))
    const dkg = keys.map((k, i) =>
      world!.party(`dkg${i}`, [
        '--room',
        'frost-dkg',
        '--key',
        k.file,
        '--protocol',
        'frost-dkg',
        '--parties',
        '5',
        '--threshold',
        '3',
        '--share',
        shares[i]!,
      ]),
    )
    const dkgResults = await Promise.all(dkg.map((p) => p.waitFor(isResult, 120_000, 'dkg result')))
    const groupKey = dkgResults[0]!.groupPublicKey!
    expect(groupKey).toMatch(/^[0-9a-f]{64}$/)
    for (const r of dkgResults) expect(r.groupPublicKey).toBe(groupKey)
    expect(await Promise.all(dkg.map((p) => p.exited))).toEqual([0, 0, 0, 0, 0])
    for (const f of shares) expect((await stat(f)).mode & 0o777).toBe(0o600)
    // the secret share never appears in what a party prints
    for (const p of dkg) expect(JSON.stringify(p.lines)).not.toMatch(/secret/i)

    const message = Buffer.from('conclave: pay 3 coins to bob').toString('hex')
    const signers = [0, 2, 4].map((i) =>
      world!.party(`sign${i}`, [
        '--room',
        'frost-sign',
        '--key',
        keys[i]!.file,
        '--protocol',
        'frost-sign',
        '--parties',
        '3',
        '--share',
        shares[i]!,
        '--message',
        message,
      ]),
    )
    const signResults = await Promise.all(signers.map((p) => p.waitFor(isResult, 120_000, 'sign result')))
    const signature = signResults[0]!.signature!
    for (const r of signResults) {
      expect(r.signature).toBe(signature)
      expect(r.groupPublicKey).toBe(groupKey)
    }
    expect(
      ed25519.verify(
        Buffer.from(signature, 'hex'),
        Buffer.from(message, 'hex'),
        Buffer.from(groupKey, 'hex'),
      ),
    ).toBe(true)
    expect(await Promise.all(signers.map((p) => p.exited))).toEqual([0, 0, 0])
  }, 240_000)

  it('refuses to overwrite an existing share file before meeting anyone', async () => {
    world = new World()
    await world.start()
    const k = await world.key('p')
    const p = world.party('dkg', [
      '--room',
      'x',
      '--key',
      k.file,
      '--protocol',
      'frost-dkg',
      '--parties',
      '3',
      '--threshold',
      '2',
      '--share',
      k.file,
    ])
    const err = await p.waitFor(isEvent('error'), 30_000, 'error')
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(await p.exited).toBe(1)
  }, 60_000)
})
