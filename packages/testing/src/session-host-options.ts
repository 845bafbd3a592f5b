/**
 * Compliance cases for the host's options: each option of `SessionHostConfig` (roster, grant
 * issuers and `requireGrant`, mode, limits (the re-key bounds among them), the grant store) changes a host's behaviour, and it
 * must change it the same way in-thread, in a worker_threads Worker and in a browser Worker. A
 * Worker host whose config lost a field (as it once lost the grant issuers) fails here.
 * Registered by `runSessionHostTests`.
 * @module
 */
import {
  type CryptoBackend,
  type ErrorCode,
  generateIdentity,
  issueGrant,
  type PartyEvent,
  type PartyId,
  type SigningKey,
  toHex,
  utf8,
} from '@conclave/core'
import { createMemoryNetwork } from '@conclave/core/transport'
import { describe, expect, it } from 'vitest'
import {
  hostHarness,
  type MakeSessionHost,
  randomSid,
  type SessionHostTestOptions,
  type TestParty,
  until,
} from './host-harness.ts'

const PROTOCOL = 'compliance/v1'
const decode = (b: Uint8Array): string => new TextDecoder().decode(b)

function hasEvent(p: TestParty, match: (e: PartyEvent) => boolean): boolean {
  return p.events.some(match)
}

const dropOf = (p: TestParty, code: string, sessionId?: string): boolean =>
  hasEvent(
    p,
    (e) => e.type === 'drop' && e.code === code && (sessionId === undefined || e.sessionId === sessionId),
  )

/** `admitted` links to `a`; then `refused` tries, and `a` refuses it at the handshake with `code`. */
async function admitsOnly(
  a: TestParty,
  admitted: TestParty,
  refused: TestParty,
  code: ErrorCode,
): Promise<void> {
  void admitted.party.connect(a.party.id)
  await a.party.waitForPeers([admitted.party.id], { timeoutMs: 5000 })
  void refused.party.connect(a.party.id)
  const failed = (e: PartyEvent): boolean =>
    e.type === 'handshake-failed' && e.peer === refused.party.id && e.code === code
  await until(() => hasEvent(a, failed), `${code} at the handshake`)
  expect(a.party.peers().map((p) => p.peer)).toEqual([admitted.party.id])
}

/** A grant from `issuer` for the session `proposer` proposes with `nonce`. */
async function grantFor(
  crypto: CryptoBackend,
  issuer: SigningKey,
  proposer: TestParty,
  participants: PartyId[],
  nonce: Uint8Array,
): Promise<{ grant: Uint8Array; sessionId: string }> {
  const sessionId = proposer.party.sessionIdFor({ protocol: PROTOCOL, participants, nonce })
  const grant = await issueGrant(crypto, issuer, {
    grantId: toHex(crypto.randomBytes(16)),
    sessionId,
    participants,
    threshold: participants.length,
    expiresAt: Date.now() + 300_000,
    nonce: crypto.randomBytes(32),
  })
  return { grant, sessionId }
}

/** Register the option cases for one session host. */
export function sessionHostOptionTests(
  name: string,
  makeHost: MakeSessionHost,
  options: SessionHostTestOptions,
): void {
  describe(`session host options: ${name}`, () => {
    const { backend, makeParty } = hostHarness(makeHost, options)

    it('roster: a party outside it is refused at the handshake, a member links', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      const self = await generateIdentity(crypto)
      const member = await makeParty(net, crypto)
      const outsider = await makeParty(net, crypto)
      const a = await makeParty(net, crypto, { key: self.key, roster: new Set([self.id, member.party.id]) })
      await admitsOnly(a, member, outsider, 'HANDSHAKE_NOT_IN_ROSTER')
      expect(a.party.counters().handshakeFailures.HANDSHAKE_NOT_IN_ROSTER).toBeGreaterThanOrEqual(1)
    })

    it('mode: parties of one mode link, a party of another mode is refused', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      const a = await makeParty(net, crypto, { mode: 'compliance-mode' })
      const same = await makeParty(net, crypto, { mode: 'compliance-mode' })
      const other = await makeParty(net, crypto)
      await admitsOnly(a, same, other, 'HANDSHAKE_MODE_MISMATCH')
    })

    it('grant issuers: a grant-less proposal is refused (GRANT_REQUIRED) unless requireGrant is false; a granted one is joined', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      const issuer = await generateIdentity(crypto)
      const issuers = new Set([issuer.id])
      // the proposer checks a grant as every party does, and may propose without one (requireGrant: false)
      const a = await makeParty(net, crypto, { grantIssuers: issuers, requireGrant: false })
      const b = await makeParty(net, crypto, { grantIssuers: issuers })
      const c = await makeParty(net, crypto, { grantIssuers: issuers, requireGrant: false })
      const ids = [a.party.id, b.party.id, c.party.id]
      const bare = await a.party.propose({ protocol: PROTOCOL, participants: ids })
      await until(() => dropOf(b, 'GRANT_REQUIRED', bare.id), 'the grant-less proposal refused')
      await until(() => c.party.proposals().some((p) => p.sessionId === bare.id), 'the proposal at c')
      expect(b.party.proposals()).toEqual([])
      // a grant by the roster's issuer, for the sid of this very proposal (its nonce crosses too)
      const nonce = crypto.randomBytes(32)
      const { grant, sessionId } = await grantFor(crypto, issuer.key, a, ids, nonce)
      const s = await a.party.propose({ protocol: PROTOCOL, participants: ids, nonce, grant })
      expect(s.id).toBe(sessionId)
      await until(
        () => [b, c].every((p) => p.party.proposals().some((x) => x.sessionId === s.id)),
        'the granted proposal',
      )
      expect(b.party.proposals()[0]).toMatchObject({ sessionId: s.id, grant: { issuer: issuer.id } })
      const sb = b.party.join(s.id)
      c.party.join(s.id)
      await s.broadcast(1, utf8('granted'))
      expect(new TextDecoder().decode(await sb.receive(a.party.id, 1, { broadcast: true }))).toBe('granted')
      expect(dropOf(b, 'GRANT_UNTRUSTED')).toBe(false)
    })

    it('limits: past maxPeers a new peer is refused at the handshake (PEER_LIMIT)', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      const a = await makeParty(net, crypto, { limits: { maxPeers: 1 } })
      await admitsOnly(a, await makeParty(net, crypto), await makeParty(net, crypto), 'PEER_LIMIT')
    })

    it('limits: byte budgets hold on this host: a sender past its inbox byte share waits, nothing is lost, and the counters show the buffer within its budget', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      const limits = { maxMessageBytes: 8192, inboxBytesPerSender: 20_000, inboxBytesTotal: 40_000 }
      const a = await makeParty(net, crypto, { limits })
      const b = await makeParty(net, crypto)
      const ids = [a.party.id, b.party.id]
      const sid = randomSid(crypto)
      const sa = a.party.session({ id: sid, participants: ids })
      const sb = b.party.session({ id: sid, participants: ids })
      const body = (i: number): Uint8Array => new Uint8Array(8000).fill(i)
      for (let i = 0; i < 4; i++) await sb.send(a.party.id, 1, body(i))
      await until(
        () => hasEvent(a, (e) => e.type === 'backpressure' && e.peer === b.party.id),
        'b waits for inbox room',
      )
      // two bodies of 8,000 bytes fit the 20,000-byte share; the third waits, far below 1,000 messages
      expect(a.party.counters().buffers.inbox).toMatchObject({
        bytes: 16_000,
        perSender: 20_000,
        total: 40_000,
      })
      for (let i = 0; i < 4; i++) expect((await sa.receive(b.party.id, 1))[0]).toBe(i)
      const after = a.party.counters()
      expect(after.buffers.inbox).toMatchObject({ bytes: 0, peakSenderBytes: 16_000 })
      expect(after.drops).toEqual({})
      expect(after.penaltyPoints).toBe(0)
    })

    it('limits: budgets that contradict each other are refused (LIMIT_INCONSISTENT), a bad value with INVALID_ARGUMENT', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      await expect(makeParty(net, crypto, { limits: { inboxBytesPerSender: 1024 } })).rejects.toMatchObject({
        code: 'LIMIT_INCONSISTENT',
      })
      await expect(makeParty(net, crypto, { limits: { inboxBytesTotal: -1 } })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
    })

    it('limits: a link past rekeyAfterFrames, or rekeyAfterMs old, is re-made (REKEY_DUE, a new handshake) and its session carries on', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      // the bounds are a's only: b, with the defaults, answers a's re-key close
      const a = await makeParty(net, crypto, { limits: { rekeyAfterFrames: 16 } })
      const b = await makeParty(net, crypto)
      const ids = [a.party.id, b.party.id]
      const sid = randomSid(crypto)
      const sa = a.party.session({ id: sid, participants: ids })
      const sb = b.party.session({ id: sid, participants: ids })
      for (let i = 0; i < 40; i++) {
        await sa.send(b.party.id, 1, utf8(`a${i}`))
        expect(decode(await sb.receive(a.party.id, 1))).toBe(`a${i}`)
        await sb.send(a.party.id, 1, utf8(`b${i}`))
        expect(decode(await sa.receive(b.party.id, 1))).toBe(`b${i}`)
      }
      const rekeyed = (p: TestParty): number =>
        p.events.filter((e) => e.type === 'peer' && e.state === 'lost' && e.code === 'REKEY_DUE').length
      // 40 round trips are 40 frames or more each way: a's bound of 16 re-keys the link twice or more
      expect(rekeyed(a)).toBeGreaterThanOrEqual(2)
      expect(a.party.counters().handshakes).toBeGreaterThanOrEqual(3)
      expect(a.party.counters().drops).toEqual({})
      // the age bound (no clock crosses into a Worker: a short one, on keepalive frames)
      const c = await makeParty(net, crypto, { limits: { rekeyAfterMs: 200, keepaliveMs: 20 } })
      void c.party.connect(b.party.id)
      await until(() => c.party.counters().handshakes >= 3, 'the link to c re-keyed twice by age')
      expect(rekeyed(c)).toBeGreaterThanOrEqual(2)
      expect(c.party.counters().drops).toEqual({})
      expect(hasEvent(b, (e) => e.type === 'drop' || e.type === 'alarm')).toBe(false)
    })

    it('receive options cross whole: a consistent collect checks that this party broadcast too', async () => {
      const crypto = backend()
      const net = createMemoryNetwork()
      const a = await makeParty(net, crypto)
      const b = await makeParty(net, crypto)
      const ids = [a.party.id, b.party.id]
      const sid = randomSid(crypto)
      const sa = a.party.session({ id: sid, participants: ids })
      await b.party.session({ id: sid, participants: ids }).broadcast(1, utf8('b says'))
      // `a` has not broadcast in round 1: the echo step has nothing of its own to compare
      await expect(
        sa.collect(1, { broadcast: true, consistent: true, timeoutMs: 5000 }),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
    })

    it.skipIf(!options.grantStore)(
      'grant store: a grantId spent before a restart is refused after it (GRANT_REPLAYED)',
      async () => {
        const crypto = backend()
        const net = createMemoryNetwork()
        const issuer = await generateIdentity(crypto)
        const grantIssuers = new Set([issuer.id])
        const grantStore = options.grantStore!()
        const a = await makeParty(net, crypto, { grantIssuers })
        const bKey = (await generateIdentity(crypto)).key
        const b1 = await makeParty(net, crypto, { key: bKey, grantIssuers, grantStore })
        const ids = [a.party.id, b1.party.id]
        const nonce = crypto.randomBytes(32)
        const { grant } = await grantFor(crypto, issuer.key, a, ids, nonce)
        const s = await a.party.propose({ protocol: PROTOCOL, participants: ids, nonce, grant })
        await until(() => b1.party.proposals().length === 1, 'the proposal')
        b1.party.join(s.id)
        await b1.party.stop()
        await a.party.stop()
        // b restarts with the same store; a, restarted too, replays the same proposal
        const b2 = await makeParty(net, crypto, { key: bKey, grantIssuers, grantStore })
        const replayer = await makeParty(net, crypto, { key: a.key, grantIssuers })
        await replayer.party.propose({ protocol: PROTOCOL, participants: ids, nonce, grant })
        await until(() => dropOf(b2, 'GRANT_REPLAYED'), 'the replay refused', 10_000)
        expect(b2.party.proposals()).toEqual([])
      },
    )

    it.skipIf(!options.outbox)(
      'outbox store: a host restarted with the same store resumes its session, and its peer sees no restart',
      async () => {
        const crypto = backend()
        const net = createMemoryNetwork()
        const outbox = options.outbox!()
        const b = await makeParty(net, crypto)
        const aKey = (await generateIdentity(crypto)).key
        const a1 = await makeParty(net, crypto, { key: aKey, outbox })
        const ids = [a1.party.id, b.party.id]
        const sid = randomSid(crypto)
        const sb = b.party.session({ id: sid, participants: ids })
        await a1.party.session({ id: sid, participants: ids }).send(b.party.id, 1, utf8('before'))
        expect(decode(await sb.receive(a1.party.id, 1))).toBe('before')
        await a1.party.stop()
        // a Worker host lets go of its store when its Worker ends
        await (a1.host as { closed?: Promise<void> }).closed
        const a2 = await makeParty(net, crypto, { key: aKey, outbox })
        const s2 = a2.party.session({ id: sid, participants: ids })
        expect(s2.resumed?.sent).toMatchObject({ [b.party.id]: 1 })
        await s2.send(b.party.id, 2, utf8('after'))
        expect(decode(await sb.receive(a1.party.id, 2))).toBe('after')
        expect(hasEvent(b, (e) => e.type === 'session' && e.state === 'aborted')).toBe(false)
      },
    )
  })
}
