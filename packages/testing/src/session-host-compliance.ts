/**
 * The session host compliance suite: every session host (in-thread, Worker in Node, Worker in a
 * browser) must pass it. It drives real parties (`createParty({ host })`) over the memory
 * transport, so it checks the host through the only interface the party uses. The host's options
 * (roster, grant issuers, mode, limits, stores) are checked in `session-host-options.ts`, run
 * from here, so that every host shows each option changing its behaviour the same way.
 *
 * ```ts
 * runSessionHostTests('in-thread', async (setup) => createInThreadSessionHost(setup))
 * ```
 */

import {
  ConclaveError,
  type CryptoBackend,
  generateIdentity,
  type Party,
  type PartyId,
  partyIdToBytes,
  type SigningKey,
  sessionIdToBytes,
  utf8,
} from '@conclave/core'
import { SecureChannel } from '@conclave/core/channel'
import type { Link, MemoryNetwork } from '@conclave/core/transport'
import { encodePayload, encodeUnit, envelopeSignedBytes, equalBytes, RecordType } from '@conclave/core/wire'
import { describe, expect, it } from 'vitest'
import {
  hostHarness,
  type MakeSessionHost,
  randomSid,
  type SessionHostTestOptions,
  until,
} from './host-harness.ts'
import { sessionHostOptionTests } from './session-host-options.ts'

const decode = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A peer with a real identity and a real secure channel that sends whatever unit a test crafts. */
async function rawPeer(
  net: MemoryNetwork,
  crypto: CryptoBackend,
): Promise<{
  id: PartyId
  key: SigningKey
  channelTo(peer: PartyId): Promise<SecureChannel>
  stop(): Promise<void>
}> {
  const { key, id } = await generateIdentity(crypto)
  const transport = net.transport()
  const channels = new Map<PartyId, Promise<SecureChannel>>()
  const ready = new Map<PartyId, (c: SecureChannel) => void>()
  transport.onLink((link: Link) => {
    const channel: SecureChannel = new SecureChannel(
      {
        crypto,
        identity: key,
        expectedPeer: link.peer,
        initiator: link.initiator,
        mode: 'conclave',
        epoch: crypto.randomBytes(16),
        now: Date.now,
        maxFrameSize: link.maxMessageSize,
      },
      {
        sendFrame: (f) => {
          if (!link.closed) link.send(f)
        },
        ready: (r) => {
          // a raw peer speaks the delivery layer too: its units are numbered from 0
          channel.sendRecord({ type: RecordType.resume, seq: 0n })
          ready.get(r.peer)?.(channel)
        },
        unit: () => undefined,
        record: () => undefined,
        closed: (code) => link.close(code),
      },
    )
    link.onMessage((f) => channel.receive(f))
    link.onClose(() => channel.close())
    void channel.start()
  })
  await transport.start(id)
  return {
    id,
    key,
    channelTo(peer) {
      let c = channels.get(peer)
      if (!c) {
        c = new Promise<SecureChannel>((resolve) => ready.set(peer, resolve))
        channels.set(peer, c)
        void transport.connect(peer)
      }
      return c
    },
    stop: () => transport.stop(),
  }
}

/** Register the suite for one session host. */
export function runSessionHostTests(
  name: string,
  makeHost: MakeSessionHost,
  options: SessionHostTestOptions = {},
): void {
  describe(`session host compliance: ${name}`, () => {
    const { cleanups, group } = hostHarness(makeHost, options)

    it('exchanges direct and broadcast messages among three parties', async () => {
      const { crypto, ps, ids } = await group(3)
      const sid = randomSid(crypto)
      const [a, b, c] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
      await a!.send(ids[1]!, 1, utf8('to b'))
      await a!.send(ids[2]!, 1, utf8('to c'))
      await a!.broadcast(1, utf8('to all'))
      expect(decode(await b!.receive(ids[0]!, 1))).toBe('to b')
      expect(decode(await c!.receive(ids[0]!, 1))).toBe('to c')
      expect(decode(await b!.receive(ids[0]!, 1, { broadcast: true }))).toBe('to all')
      expect(decode(await c!.receive(ids[0]!, 1, { broadcast: true }))).toBe('to all')
      await b!.broadcast(2, utf8('from b'), { kind: 'k' })
      await c!.broadcast(2, utf8('from c'), { kind: 'k' })
      const got = await a!.collect(2, { broadcast: true, kind: 'k' })
      expect(got).toBeInstanceOf(Map)
      expect([...got.keys()].sort()).toEqual([ids[1], ids[2]])
      expect(decode(got.get(ids[1]!)!)).toBe('from b')
      expect(decode(got.get(ids[2]!)!)).toBe('from c')
      // the sender keeps its body: the host copies what it sends
      const body = utf8('kept')
      await b!.send(ids[0]!, 3, body)
      expect(decode(body)).toBe('kept')
      expect(decode(await a!.receive(ids[1]!, 3))).toBe('kept')
      // many small messages, in order per sender
      const sends = Array.from({ length: 200 }, (_, i) => c!.send(ids[0]!, 4, new Uint8Array([i])))
      await Promise.all(sends)
      for (let i = 0; i < 200; i++) expect(await a!.receive(ids[2]!, 4)).toEqual(new Uint8Array([i]))
    })

    it('carries a 1 MiB message intact, and a receiver may keep what it received', async () => {
      const { crypto, ps, ids } = await group(2)
      const sid = randomSid(crypto)
      const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
      const big = crypto.randomBytes(1024 * 1024)
      await a!.send(ids[1]!, 1, big)
      const got = await b!.receive(ids[0]!, 1)
      expect(got.length).toBe(big.length)
      expect(equalBytes(got, big)).toBe(true)
      expect(big.length).toBe(1024 * 1024) // not detached at the sender
    })

    it('refuses a badly signed envelope, and its code reaches the drop event', async () => {
      const { crypto, net, ps } = await group(1)
      const victim = ps[0]!
      const attacker = await rawPeer(net, crypto)
      cleanups.push(() => attacker.stop())
      const ids = [victim.party.id, attacker.id].sort()
      const sid = randomSid(crypto)
      victim.party.session({ id: sid, participants: ids })
      const channel = await attacker.channelTo(victim.party.id)
      const payload = encodePayload({
        sessionId: sessionIdToBytes(sid),
        round: 1,
        kind: 'msg',
        from: partyIdToBytes(attacker.id),
        epoch: new Uint8Array(16).fill(9),
        seq: 0n,
        body: utf8('forged'),
      })
      const timestamp = BigInt(Date.now())
      const recipient = partyIdToBytes(victim.party.id)
      const signature = await crypto.ed25519.sign(
        attacker.key,
        envelopeSignedBytes(payload, recipient, timestamp),
      )
      signature[10]! ^= 1
      channel.sendUnit(encodeUnit(payload, recipient, timestamp, signature))
      await until(() => victim.events.some((e) => e.type === 'drop'), 'drop event')
      const drop = victim.events.find((e) => e.type === 'drop')
      expect(drop).toMatchObject({
        type: 'drop',
        code: 'ENVELOPE_BAD_SIGNATURE',
        peer: attacker.id,
        sessionId: sid,
      })
      expect(victim.party.counters().drops.ENVELOPE_BAD_SIGNATURE).toBe(1)
    })

    it('errors thrown by the host keep their class, code and details', async () => {
      const { crypto, ps, ids } = await group(2, { maxMessageBytes: 4096 })
      const sid = randomSid(crypto)
      const s = ps[0]!.party.session({ id: sid, participants: ids })
      const send0 = await s.send(ids[1]!, 0, utf8('x')).catch((e: unknown) => e)
      expect(send0).toBeInstanceOf(ConclaveError)
      expect(send0).toMatchObject({ name: 'ConclaveError', code: 'ROUND_RESERVED' })
      const timeout = await s.receive(ids[1]!, 1, { timeoutMs: 20 }).catch((e: unknown) => e)
      expect(timeout).toBeInstanceOf(ConclaveError)
      expect(timeout).toMatchObject({ code: 'ROUND_TIMEOUT', details: { round: 1, silent: [ids[1]] } })
      await expect(s.send(ids[1]!, 1, new Uint8Array(4097))).rejects.toMatchObject({
        code: 'MESSAGE_TOO_LARGE',
      })
      await expect(s.send(ids[0]!, 1, utf8('self'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(ps[0]!.host.send(randomSid(crypto), ids[1]!, 1, utf8('nowhere'))).rejects.toMatchObject({
        code: 'SESSION_UNKNOWN',
      })
      // openSession is synchronous and throws synchronously
      expect(() => ps[0]!.party.session({ id: sid, participants: ids })).toThrowError(
        expect.objectContaining({ code: 'SESSION_EXISTS' }),
      )
      expect(() =>
        ps[0]!.party.session({ id: randomSid(crypto), participants: [ids[0]!, ids[0]!] }),
      ).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
      // an explicit timeout fails the receive only: the session goes on
      await ps[1]!.party.session({ id: sid, participants: ids }).send(ids[0]!, 1, utf8('late'))
      expect(decode(await s.receive(ids[1]!, 1))).toBe('late')
    })

    it('a receive or collect cancelled through its AbortSignal fails with ABORTED', async () => {
      const { crypto, ps, ids } = await group(2)
      const sid = randomSid(crypto)
      const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
      const ac = new AbortController()
      const pending = a!.receive(ids[1]!, 1, { signal: ac.signal })
      const pendingCollect = a!.collect(2, { signal: ac.signal })
      ac.abort()
      await expect(pending).rejects.toMatchObject({ code: 'ABORTED' })
      await expect(pendingCollect).rejects.toMatchObject({ code: 'ABORTED' })
      // an already aborted signal wins over a message that is there
      await b!.send(ids[0]!, 1, utf8('one'))
      await until(() => ps[0]!.events.some((e) => e.type === 'message'), 'message event')
      await expect(a!.receive(ids[1]!, 1, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' })
      // the message is still there for the next receive
      expect(decode(await a!.receive(ids[1]!, 1, { signal: new AbortController().signal }))).toBe('one')
    })

    it('an abort reaches every participant with its reason and who sent it', async () => {
      const { crypto, ps, ids } = await group(3)
      const sid = randomSid(crypto)
      const [a, b, c] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
      const waitB = b!.receive(ids[2]!, 1)
      const abortedC = new Promise((resolve) => c!.on('aborted', resolve))
      await a!.abort('user cancelled')
      const err = await waitB.catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConclaveError)
      expect(err).toMatchObject({
        code: 'SESSION_ABORTED',
        details: { by: ids[0], reason: expect.stringContaining('user cancelled') },
      })
      expect(await abortedC).toMatchObject({ type: 'session', state: 'aborted', by: ids[0] })
      await expect(a!.send(ids[1]!, 1, utf8('after'))).rejects.toMatchObject({ code: 'SESSION_ABORTED' })
    })

    it('sessions that ended are released: closed, or aborted then closed, only their ids stay', async () => {
      const { crypto, ps, ids } = await group(2)
      const n = 6
      for (let i = 0; i < n; i++) {
        const sid = randomSid(crypto)
        const [a, b] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
        await a!.send(ids[1]!, 1, utf8('x'))
        expect(decode(await b!.receive(ids[0]!, 1))).toBe('x')
        if (i % 2 === 1) {
          const aborted = new Promise((resolve) => b!.on('aborted', resolve))
          await a!.abort('done')
          await aborted
        }
        a!.close()
        b!.close()
        // the id stays: never opened again
        expect(() => ps[0]!.party.session({ id: sid, participants: ids })).toThrowError(
          expect.objectContaining({ code: 'SESSION_EXISTS' }),
        )
      }
      for (const p of ps) {
        await until(() => p.party.counters().sessionsReleased === n, 'every session released')
        expect(p.party.counters().sessionsOpened).toBe(n)
        // the party keeps no session facade either (a private map: what this case is about)
        expect((p.party as unknown as { sessions: Map<string, unknown> }).sessions.size).toBe(0)
      }
    })

    it('counters() and peers() reflect the traffic', async () => {
      const { crypto, ps, ids } = await group(2)
      const [a, b] = ps
      expect(a!.party.peers()).toEqual([])
      const sid = randomSid(crypto)
      const [sa, sb] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
      await a!.party.waitForPeers([ids[1]!], { timeoutMs: 5000 })
      expect(a!.party.peers().map((p) => p.peer)).toEqual([ids[1]])
      expect(a!.party.peers()[0]).toMatchObject({ transport: 'memory' })
      for (let i = 0; i < 10; i++) await sa!.send(ids[1]!, 1, new Uint8Array(100))
      for (let i = 0; i < 10; i++) await sb!.receive(ids[0]!, 1)
      const ca = a!.party.counters()
      const cb = b!.party.counters()
      expect(ca.byTransport.memory!.messagesSent).toBeGreaterThanOrEqual(10)
      expect(ca.byTransport.memory!.framesSent).toBeGreaterThan(0)
      expect(cb.byTransport.memory!.messagesReceived).toBeGreaterThanOrEqual(10)
      expect(cb.byTransport.memory!.bytesReceived).toBeGreaterThan(1000)
      expect(ca.sessionsOpened).toBe(1)
      expect(ca.handshakes).toBeGreaterThanOrEqual(1)
      // a snapshot, not a live view
      ca.handshakes = -1
      expect(a!.party.counters().handshakes).toBeGreaterThanOrEqual(1)
    })

    it('a proposal reaches the others, who join it by its id', async () => {
      const { ps, ids } = await group(3)
      const joined = ps
        .slice(1)
        .map(
          (p) =>
            new Promise<ReturnType<Party['join']>>((resolve) =>
              p.party.on('proposal', (ev) => resolve(p.party.join(ev.proposal.sessionId))),
            ),
        )
      const s = await ps[0]!.party.propose({ protocol: 'test/v1', params: utf8('p'), participants: ids })
      const [s1, s2] = await Promise.all(joined)
      expect(s1!.id).toBe(s.id)
      expect(s2!.id).toBe(s.id)
      expect(ps[1]!.party.proposals()).toEqual([])
      await s.broadcast(1, utf8('go'))
      expect(decode(await s1!.receive(ids[0]!, 1, { broadcast: true }))).toBe('go')
      expect(() => ps[1]!.party.join(s.id)).toThrowError(expect.objectContaining({ code: 'SESSION_EXISTS' }))
    })

    it('stop() fails what waits, refuses what comes after, and releases the host', async () => {
      const { crypto, ps, ids } = await group(2)
      const sid = randomSid(crypto)
      const [a] = ps.map((p) => p.party.session({ id: sid, participants: ids }))
      const waiting = a!.receive(ids[1]!, 1)
      await ps[0]!.party.stop()
      const err = await waiting.catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConclaveError)
      expect(err).toMatchObject({ code: 'SESSION_CLOSED' })
      await expect(a!.send(ids[1]!, 1, utf8('x'))).rejects.toBeInstanceOf(ConclaveError)
      ps[0]!.host.stop() // idempotent
      await ps[1]!.party.stop()
      for (const p of ps) await options.released?.(p.host)
    })
  })
  sessionHostOptionTests(name, makeHost, options)
}
