/**
 * The Worker host's config is the host's own, carried whole (#16 item 1: the roster's grant
 * issuers were lost on the way, so Worker parties joined grant-less proposals and refused granted
 * ones). Through the path `conclave-party` takes: a parsed roster, `toWorkerHostConfig`, a
 * worker_threads Worker.
 */
import {
  generateIdentity,
  issueGrant,
  type PartyEvent,
  type PartyId,
  parseRoster,
  type SigningKey,
  toHex,
  utf8,
} from '@conclave/core'
import {
  createInThreadSessionHost,
  createParty,
  type SessionHost,
  type SessionHostConfig,
  toWorkerHostConfig,
  type WorkerSessionHost,
} from '@conclave/core/host'
import { createNodeCrypto, createNodeWorkerSessionHost } from '@conclave/core/node'
import { createMemoryNetwork } from '@conclave/core/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { hostConfigInWorker, rosterHostConfig } from '../src/worker/config.ts'
import { until } from './helpers.ts'

const crypto = createNodeCrypto()
const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s()
})

describe('the Worker host config', () => {
  it('carries every field of the host config into the Worker, and back to the host as given', async () => {
    const { key } = await generateIdentity(crypto)
    const party = (await generateIdentity(crypto)).id
    const issuer = (await generateIdentity(crypto)).id
    const full: Omit<Required<SessionHostConfig>, 'grantStore' | 'outbox' | 'now' | 'nextTurn'> = {
      crypto,
      identity: key,
      mode: 'm/v1',
      roster: new Set([party]),
      epoch: new Uint8Array(16).fill(3),
      grantIssuers: new Set([issuer]),
      requireGrant: false,
      limits: { maxPeers: 7, inboxPerSender: 9 },
    }
    const wire = structuredClone(toWorkerHostConfig({ ...full, grantStore: { file: '/tmp/g.jsonl' } }))
    expect(wire).toMatchObject({
      crypto: crypto.name,
      aead: crypto.aead.name,
      grantStore: { file: '/tmp/g.jsonl' },
    })
    const back = hostConfigInWorker(wire, { crypto })
    expect(back).toEqual(full)
  })

  it('a parsed roster brings its grant issuers', async () => {
    const { key } = await generateIdentity(crypto)
    const member = (await generateIdentity(crypto)).id
    const issuer = (await generateIdentity(crypto)).id
    const roster = parseRoster({ version: 1, parties: [{ id: member }], grantIssuers: [issuer] })
    expect(toWorkerHostConfig({ crypto, identity: key, roster })).toMatchObject({
      roster: new Set([member]),
      grantIssuers: new Set([issuer]),
    })
  })

  it('a Worker host with a roster naming grant issuers refuses a grant-less proposal and joins a granted one', async () => {
    const net = createMemoryNetwork()
    const issuer = await generateIdentity(crypto)
    const a = await generateIdentity(crypto)
    const b = await generateIdentity(crypto)
    const roster = parseRoster({
      version: 1,
      parties: [{ id: a.id }, { id: b.id }],
      grantIssuers: [issuer.id],
    })
    const ids: PartyId[] = [a.id, b.id]
    const start = async (key: SigningKey, host: SessionHost) => {
      const party = createParty({ identity: key, crypto, transport: net.transport(), host })
      const events: PartyEvent[] = []
      party.on('event', (e) => events.push(e))
      await party.start()
      stops.push(async () => {
        await party.stop()
        await (host as WorkerSessionHost).closed
      })
      return { party, events }
    }
    // the proposer may send a grant-less proposal (requireGrant: false) and checks grants as usual
    const proposer = await start(
      a.key,
      createInThreadSessionHost({
        crypto,
        identity: a.key,
        ...rosterHostConfig(roster),
        requireGrant: false,
      }),
    )
    const joiner = await start(
      b.key,
      await createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: b.key, roster })),
    )
    const bare = await proposer.party.propose({ protocol: 'p/v1', participants: ids })
    await until(
      () =>
        joiner.events.some(
          (e) => e.type === 'drop' && e.code === 'GRANT_REQUIRED' && e.sessionId === bare.id,
        ),
      10_000,
      'the grant-less proposal refused',
    )
    expect(joiner.party.proposals()).toEqual([])
    expect(() => joiner.party.join(bare.id)).toThrowError(
      expect.objectContaining({ code: 'PROPOSAL_UNKNOWN' }),
    )
    const nonce = crypto.randomBytes(32)
    const sessionId = proposer.party.sessionIdFor({ protocol: 'p/v1', participants: ids, nonce })
    const grant = await issueGrant(crypto, issuer.key, {
      grantId: toHex(crypto.randomBytes(16)),
      sessionId,
      participants: ids,
      threshold: 2,
      expiresAt: Date.now() + 300_000,
      nonce: crypto.randomBytes(32),
    })
    const s = await proposer.party.propose({ protocol: 'p/v1', participants: ids, nonce, grant })
    expect(s.id).toBe(sessionId)
    await until(() => joiner.party.proposals().length === 1, 10_000, 'the granted proposal')
    expect(joiner.party.proposals()[0]).toMatchObject({ sessionId, grant: { issuer: issuer.id } })
    const sj = joiner.party.join(s.id)
    await s.send(b.id, 1, utf8('granted'))
    expect(new TextDecoder().decode(await sj.receive(a.id, 1))).toBe('granted')
  })
})
