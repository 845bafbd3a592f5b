/**
 * The FROST flow (params, share store, propose / join / run) on the memory transport: the way
 * the web demo and `conclave-party` drive FROST, without a page.
 */
import { fromHex, type Party, type ProposalInfo, toHex } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { ed25519 } from '@noble/curves/ed25519.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  decodeFrostDkgParams,
  decodeFrostSignParams,
  encodeFrostDkgParams,
  encodeFrostSignParams,
  FROST_DKG,
  FROST_SIGN,
  FrostFlow,
  MemoryShareStore,
} from '../src/index.ts'
import { startMemoryParties } from '../src/testing.ts'

const enc = new TextEncoder()
const parties: Party[] = []
/** Flows of four parties; the first three make the key, the fourth holds no share. */
let flows: FrostFlow[] = []
let groupPublicKey = ''

/** The next proposal of `protocol` that `party` receives. */
function nextProposal(party: Party, protocol: string): Promise<ProposalInfo> {
  return new Promise((resolve) => {
    const off = party.on('proposal', (ev) => {
      if (ev.proposal.protocol !== protocol) return
      off()
      resolve(ev.proposal)
    })
  })
}

beforeAll(async () => {
  parties.push(...(await startMemoryParties(4, createNodeCrypto())))
  flows = parties.map((p) => new FrostFlow(p, new MemoryShareStore()))
})

afterAll(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

describe('FROST params', () => {
  it('round-trip, and the page and the CLI get the same bytes for the same values', () => {
    const dkg = encodeFrostDkgParams({ threshold: 3 })
    expect(new TextDecoder().decode(dkg)).toBe('{"version":1,"threshold":3}')
    expect(decodeFrostDkgParams(dkg)).toEqual({ threshold: 3 })
    const key = 'AB'.repeat(32)
    const sign = encodeFrostSignParams({ groupPublicKey: key, message: enc.encode('hi') })
    // canonical: the key is lowercased, so that both ends derive the same session id
    expect(sign).toEqual(
      encodeFrostSignParams({ groupPublicKey: key.toLowerCase(), message: enc.encode('hi') }),
    )
    expect(decodeFrostSignParams(sign)).toEqual({
      groupPublicKey: key.toLowerCase(),
      message: enc.encode('hi'),
    })
  })

  it.each([
    ['empty', ''],
    ['not JSON', '{threshold: 3'],
    ['not UTF-8', '\uFFFF'],
    ['an array', '[1]'],
    ['no version', '{"threshold":3}'],
    ['another version', '{"version":2,"threshold":3}'],
    ['a threshold of 1', '{"version":1,"threshold":1}'],
    ['a fractional threshold', '{"version":1,"threshold":2.5}'],
    ['a threshold as text', '{"version":1,"threshold":"3"}'],
    ['an unknown key', '{"version":1,"threshold":3,"x":1}'],
  ])('refuse DKG params that are %s with FROST_PARAMS_INVALID', (_, text) => {
    const bytes = text === '\uFFFF' ? new Uint8Array([0xff, 0xfe]) : enc.encode(text)
    expect(() => decodeFrostDkgParams(bytes)).toThrowError(
      expect.objectContaining({ code: 'FROST_PARAMS_INVALID' }),
    )
  })

  it.each([
    ['no message', `{"version":1,"groupPublicKey":"${'a'.repeat(64)}"}`],
    ['a short key', `{"version":1,"groupPublicKey":"abcd","message":""}`],
    ['an upper-case key', `{"version":1,"groupPublicKey":"${'A'.repeat(64)}","message":""}`],
    ['an odd-length message', `{"version":1,"groupPublicKey":"${'a'.repeat(64)}","message":"abc"}`],
    ['a message that is no hex', `{"version":1,"groupPublicKey":"${'a'.repeat(64)}","message":"zz"}`],
    ['DKG params', '{"version":1,"threshold":3}'],
  ])('refuse signing params with %s with FROST_PARAMS_INVALID', (_, text) => {
    expect(() => decodeFrostSignParams(enc.encode(text))).toThrowError(
      expect.objectContaining({ code: 'FROST_PARAMS_INVALID' }),
    )
  })

  it('refuse bad values on the encoding side with INVALID_ARGUMENT', () => {
    expect(() => encodeFrostDkgParams({ threshold: 1 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => encodeFrostSignParams({ groupPublicKey: 'ab', message: new Uint8Array(0) })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})

describe('FROST flow over the memory transport', () => {
  it('a proposed DKG is joined from its proposal; every store keeps a share of one key', async () => {
    const [a, b, c] = flows as [FrostFlow, FrostFlow, FrostFlow]
    const joined = [b, c].map(async (f) => {
      const p = await nextProposal(f.party, FROST_DKG)
      expect(f.readDkgProposal(p)).toEqual({ threshold: 2 })
      const job = f.joinDkg(p, { roundTimeoutMs: 10_000 })
      try {
        return await job.run()
      } finally {
        job.session.close()
      }
    })
    const mine = await a.proposeDkg({
      participants: [a.party.id, b.party.id, c.party.id],
      threshold: 2,
      roundTimeoutMs: 10_000,
    })
    expect(mine.params).toEqual({ threshold: 2 })
    const shares = await Promise.all([mine.run().finally(() => mine.session.close()), ...joined])
    groupPublicKey = shares[0]!.groupPublicKey
    expect(groupPublicKey).toMatch(/^[0-9a-f]{64}$/)
    for (const [i, f] of [a, b, c].entries()) {
      expect(shares[i]!.groupPublicKey).toBe(groupPublicKey)
      const held = await f.store.list()
      expect(held.map((s) => s.groupPublicKey)).toEqual([groupPublicKey])
      expect((await f.store.get(groupPublicKey))?.index).toBe(shares[i]!.index)
    }
    expect(await flows[3]!.store.list()).toEqual([])
  })

  it('a proposed signing is read (message and share) and joined; the signature verifies', async () => {
    const [a, , c] = flows as [FrostFlow, FrostFlow, FrostFlow]
    const message = enc.encode('pay 3 coins to bob')
    const joined = (async () => {
      const p = await nextProposal(c.party, FROST_SIGN)
      const request = await c.readSignProposal(p)
      expect(request.params.groupPublicKey).toBe(groupPublicKey)
      expect(request.params.message).toEqual(message)
      expect(request.share?.groupPublicKey).toBe(groupPublicKey)
      const job = await c.joinSign(request, { roundTimeoutMs: 10_000 })
      try {
        return await job.run()
      } finally {
        job.session.close()
      }
    })()
    const mine = await a.proposeSign({
      groupPublicKey,
      message,
      participants: [a.party.id, c.party.id],
      roundTimeoutMs: 10_000,
    })
    const [sig, theirs] = await Promise.all([mine.run().finally(() => mine.session.close()), joined])
    expect(toHex(theirs)).toBe(toHex(sig))
    expect(ed25519.verify(sig, message, fromHex(groupPublicKey))).toBe(true)
  })

  it('a party without a share reads the request, and cannot join it (FROST_NOT_A_SIGNER)', async () => {
    const [a, , , d] = flows as [FrostFlow, FrostFlow, FrostFlow, FrostFlow]
    // a asks for a signing with d by hand (the flow itself refuses to propose it)
    await expect(
      a.proposeSign({ groupPublicKey, message: enc.encode('x'), participants: [a.party.id, d.party.id] }),
    ).rejects.toMatchObject({ code: 'FROST_NOT_A_SIGNER', details: { party: d.party.id } })
    const received = nextProposal(d.party, FROST_SIGN)
    const s = await a.party.propose({
      protocol: FROST_SIGN,
      params: encodeFrostSignParams({ groupPublicKey, message: enc.encode('x') }),
      participants: [a.party.id, d.party.id],
    })
    const request = await d.readSignProposal(await received)
    expect(request.share).toBeUndefined()
    await expect(d.joinSign(request)).rejects.toMatchObject({
      code: 'FROST_NOT_A_SIGNER',
      details: { party: d.party.id },
    })
    s.close()
  })

  it('a DKG proposal with malformed params is refused with FROST_PARAMS_INVALID, and not joined', async () => {
    const [a, b] = flows as [FrostFlow, FrostFlow]
    for (const params of [enc.encode('{"threshold":2}'), enc.encode('{"version":1,"threshold":3}')]) {
      const received = nextProposal(b.party, FROST_DKG)
      // a 2-party proposal: a threshold of 3 does not fit it
      const s = await a.party.propose({ protocol: FROST_DKG, params, participants: [a.party.id, b.party.id] })
      const p = await received
      expect(() => b.readDkgProposal(p)).toThrowError(
        expect.objectContaining({ code: 'FROST_PARAMS_INVALID' }),
      )
      expect(() => b.joinDkg(p)).toThrowError(expect.objectContaining({ code: 'FROST_PARAMS_INVALID' }))
      // nothing was joined: the proposal is still pending
      expect(b.party.proposals().some((x) => x.sessionId === p.sessionId)).toBe(true)
      s.close()
    }
  })

  it('a signing proposal with malformed params is refused with FROST_PARAMS_INVALID', async () => {
    const [a, b] = flows as [FrostFlow, FrostFlow]
    const received = nextProposal(b.party, FROST_SIGN)
    const s = await a.party.propose({
      protocol: FROST_SIGN,
      params: enc.encode(JSON.stringify({ version: 1, groupPublicKey, message: 'not hex' })),
      participants: [a.party.id, b.party.id],
    })
    const p = await received
    await expect(b.readSignProposal(p)).rejects.toMatchObject({ code: 'FROST_PARAMS_INVALID' })
    await expect(b.joinSign(p)).rejects.toMatchObject({ code: 'FROST_PARAMS_INVALID' })
    s.close()
  })

  it('checks the proposer’s arguments before proposing', async () => {
    const [a, b] = flows as [FrostFlow, FrostFlow]
    const participants = [a.party.id, b.party.id]
    await expect(a.proposeDkg({ participants, threshold: 3 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(a.proposeDkg({ participants, threshold: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(
      a.proposeSign({ groupPublicKey: 'cd'.repeat(32), message: new Uint8Array(1), participants }),
    ).rejects.toMatchObject({ code: 'FROST_NOT_A_SIGNER', details: { party: a.party.id } })
    // the key needs 2 signers
    await expect(
      a.proposeSign({ groupPublicKey, message: new Uint8Array(1), participants: [a.party.id] }),
    ).rejects.toMatchObject({ code: 'FROST_NOT_ENOUGH_SIGNERS' })
    expect(() => a.readDkgProposal({ protocol: FROST_SIGN } as ProposalInfo)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})
