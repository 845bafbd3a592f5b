/**
 * Session grants: an issuer from the roster signs grantId, sid, participants, threshold, expiry
 * and nonce; every party checks them before it joins, and spends a grantId once, across
 * restarts with a file store.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, issueGrant, type PartyId, type SigningKey, toHex, utf8 } from '@conclave/core'
import { createFileGrantStore, createNodeCrypto } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, type TestParty, until } from './helpers.ts'

const stops: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

const crypto = createNodeCrypto()

async function grantFor(
  issuer: SigningKey,
  proposer: TestParty,
  participants: PartyId[],
  nonce: Uint8Array,
  expiresInMs = 300_000,
) {
  const sessionId = proposer.party.sessionIdFor({ protocol: 'demo', participants, nonce })
  return issueGrant(crypto, issuer, {
    grantId: toHex(crypto.randomBytes(16)),
    sessionId,
    participants,
    threshold: 2,
    expiresAt: Date.now() + expiresInMs,
    nonce: crypto.randomBytes(32),
  })
}

async function trio(issuers: Set<PartyId>, extra: { proposerIssuers?: Set<PartyId> } = {}) {
  const net = network()
  const a = await makeParty(net, crypto, { grantIssuers: extra.proposerIssuers ?? issuers })
  const b = await makeParty(net, crypto, { grantIssuers: issuers })
  const c = await makeParty(net, crypto, { grantIssuers: issuers })
  stops.push(
    () => a.party.stop(),
    () => b.party.stop(),
    () => c.party.stop(),
  )
  return { net, a, b, c, ids: [a.party.id, b.party.id, c.party.id] }
}

function dropCode(p: TestParty): string | undefined {
  const d = p.events.find((e) => e.type === 'drop' && e.code.startsWith('GRANT_'))
  return d?.type === 'drop' ? d.code : undefined
}

describe('grants', () => {
  it('a granted proposal is checked and joined; the grant is spent once', async () => {
    const issuer = await generateIdentity(crypto)
    const { a, b, c, ids } = await trio(new Set([issuer.id]))
    const nonce = crypto.randomBytes(32)
    const grant = await grantFor(issuer.key, a, ids, nonce)
    const s = await a.party.propose({ protocol: 'demo', participants: ids, nonce, grant })
    await until(() => b.party.proposals().length === 1 && c.party.proposals().length === 1, 5000, 'proposals')
    expect(b.party.proposals()[0]!.grant).toMatchObject({ issuer: issuer.id, threshold: 2 })
    const sb = b.party.join(s.id)
    c.party.join(s.id)
    await s.broadcast(1, utf8('granted'))
    expect(new TextDecoder().decode(await sb.receive(a.party.id, 1, { broadcast: true }))).toBe('granted')
  })

  it('refuses a session without a grant when the roster names issuers (GRANT_REQUIRED)', async () => {
    const issuer = await generateIdentity(crypto)
    const { a, b, ids } = await trio(new Set([issuer.id]), { proposerIssuers: new Set() })
    await a.party.propose({ protocol: 'demo', participants: ids })
    await until(() => dropCode(b) !== undefined, 5000, 'refusal')
    expect(dropCode(b)).toBe('GRANT_REQUIRED')
    expect(b.party.proposals()).toEqual([])
  })

  it('refuses a grant from an issuer not in the roster (GRANT_UNTRUSTED)', async () => {
    const issuer = await generateIdentity(crypto)
    const foreign = await generateIdentity(crypto)
    const { a, b, ids } = await trio(new Set([issuer.id]), { proposerIssuers: new Set([foreign.id]) })
    const nonce = crypto.randomBytes(32)
    await a.party.propose({
      protocol: 'demo',
      participants: ids,
      nonce,
      grant: await grantFor(foreign.key, a, ids, nonce),
    })
    await until(() => dropCode(b) !== undefined, 5000, 'refusal')
    expect(dropCode(b)).toBe('GRANT_UNTRUSTED')
  })

  it('refuses an expired grant at the proposer, and at a party that joins too late (GRANT_EXPIRED)', async () => {
    const issuer = await generateIdentity(crypto)
    const { a, b, ids } = await trio(new Set([issuer.id]))
    const n1 = crypto.randomBytes(32)
    await expect(
      a.party.propose({
        protocol: 'demo',
        participants: ids,
        nonce: n1,
        grant: await grantFor(issuer.key, a, ids, n1, -1),
      }),
    ).rejects.toMatchObject({ code: 'GRANT_EXPIRED' })
    const n2 = crypto.randomBytes(32)
    const s = await a.party.propose({
      protocol: 'demo',
      participants: ids,
      nonce: n2,
      grant: await grantFor(issuer.key, a, ids, n2, 400),
    })
    await until(() => b.party.proposals().length === 1, 5000, 'proposal')
    await new Promise((r) => setTimeout(r, 500))
    expect(() => b.party.join(s.id)).toThrowError(expect.objectContaining({ code: 'GRANT_EXPIRED' }))
  })

  it('refuses a grantId used before, across a restart with a file store (GRANT_REPLAYED)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-grants-'))
    stops.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'grants.jsonl')
    const issuer = await generateIdentity(crypto)
    const issuers = new Set([issuer.id])
    const net = network()
    const a = await makeParty(net, crypto, { grantIssuers: issuers })
    const bKey = (await generateIdentity(crypto)).key
    const b1 = await makeParty(net, crypto, {
      key: bKey,
      grantIssuers: issuers,
      grantStore: createFileGrantStore(file),
    })
    stops.push(() => a.party.stop())
    const ids = [a.party.id, b1.party.id]
    const nonce = crypto.randomBytes(32)
    const grant = await grantFor(issuer.key, a, ids, nonce)
    const s = await a.party.propose({ protocol: 'demo', participants: ids, nonce, grant })
    await until(() => b1.party.proposals().length === 1, 5000, 'proposal')
    b1.party.join(s.id)
    await b1.party.stop()
    // b restarts with the same store; a's identity, in a fresh process, replays the same proposal
    const b2 = await makeParty(net, crypto, {
      key: bKey,
      grantIssuers: issuers,
      grantStore: createFileGrantStore(file),
    })
    const a2 = await makeParty(network(), crypto, { grantIssuers: issuers }) // (a second network: only its host is used)
    stops.push(
      () => b2.party.stop(),
      () => a2.party.stop(),
    )
    await a.party.stop()
    const replayer = await makeParty(net, crypto, { key: a.key, grantIssuers: issuers })
    stops.push(() => replayer.party.stop())
    await replayer.party.propose({ protocol: 'demo', participants: ids, nonce, grant })
    await until(() => dropCode(b2) !== undefined, 5000, 'refusal')
    expect(dropCode(b2)).toBe('GRANT_REPLAYED')
    expect(b2.party.proposals()).toEqual([])
  })
})
