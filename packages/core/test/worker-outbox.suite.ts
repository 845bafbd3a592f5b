/**
 * A Worker host with an outbox store (`WorkerHostConfig.outbox`), restarted: it keeps its epoch
 * (its peer sees no restart), lists the sessions it held (`restored()`, with the messages left
 * in their inbox), resumes them, and loses nothing sent either way. Run in Node (worker_threads
 * with a file; comlink over a MessageChannel with fake-indexeddb) and in Chromium (a Web Worker
 * with IndexedDB).
 */
import { type CryptoBackend, generateIdentity, type PartyEvent, type SessionId, utf8 } from '@conclave/core'
import {
  createParty,
  toWorkerHostConfig,
  type WorkerHostConfig,
  type WorkerOutboxConfig,
  type WorkerSessionHost,
} from '@conclave/core/host'
import { createMemoryNetwork } from '@conclave/core/transport'
import { afterEach, describe, expect, it } from 'vitest'

/** How one environment runs the Worker host. */
export interface WorkerOutboxSetup {
  crypto: () => CryptoBackend
  /** A config naming a medium no test used before. */
  outbox: () => WorkerOutboxConfig
  /** Start a Worker host (a new Worker each time). */
  start: (config: WorkerHostConfig) => Promise<WorkerSessionHost>
  /** Make the medium fail under a running store (e.g. delete its database); absent: not tested. */
  breakStore?: (outbox: WorkerOutboxConfig) => Promise<void>
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export function runWorkerOutboxTests(env: string, setup: WorkerOutboxSetup): void {
  describe(`a Worker host with an outbox store (${env})`, () => {
    const stops: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const s of stops.splice(0).reverse()) await s().catch(() => undefined)
    })

    async function world() {
      const crypto = setup.crypto()
      const net = createMemoryNetwork()
      const bKey = (await generateIdentity(crypto)).key
      const b = createParty({ identity: bKey, crypto, transport: net.transport() })
      const bEvents: PartyEvent[] = []
      b.on('event', (e) => bEvents.push(e))
      await b.start()
      stops.push(() => b.stop())
      const aKey = (await generateIdentity(crypto)).key
      const outbox = setup.outbox()
      const startA = async () => {
        const host = await setup.start(toWorkerHostConfig({ crypto, identity: aKey, outbox }))
        const party = createParty({ identity: aKey, crypto, transport: net.transport(), host })
        const events: PartyEvent[] = []
        party.on('event', (e) => events.push(e))
        await party.start()
        stops.push(async () => {
          await party.stop()
          await host.closed
        })
        return { host, party, events }
      }
      return { crypto, b, bEvents, outbox, startA }
    }

    it('keeps its epoch and resumes its session: nothing lost, its peer sees no restart', async () => {
      const { crypto, b, bEvents, startA } = await world()
      const a1 = await startA()
      expect(a1.host.restored()).toEqual([])
      const sid = [...crypto.randomBytes(32)]
        .map((x) => x.toString(16).padStart(2, '0'))
        .join('') as SessionId
      const participants = [a1.party.id, b.id]
      const sa = a1.party.session({ id: sid, participants })
      const sb = b.session({ id: sid, participants })
      await sa.send(b.id, 1, utf8('one'))
      expect(text(await sb.receive(a1.party.id, 1, { timeoutMs: 10_000 }))).toBe('one')
      // a message a accepts but the application does not take before the restart
      await sb.send(a1.party.id, 1, utf8('zero'))
      await until(() => a1.events.some((e) => e.type === 'message'), 'a announces "zero"')
      await a1.party.stop()
      await a1.host.closed

      await sb.send(a1.party.id, 1, utf8('two')) // while a is down: b keeps it for a
      const a2 = await startA()
      const restored = a2.host.restored()
      expect(restored).toHaveLength(1)
      expect(restored[0]!.options).toMatchObject({ id: sid, participants: [...participants].sort() })
      expect(restored[0]!.resume).toEqual({ sent: { [b.id]: 1 }, received: {} })
      expect(restored[0]!.waiting).toEqual([{ from: b.id, round: 1, kind: 'msg', broadcast: false }])
      expect(a2.host.resumeOf(sid)).toBeUndefined() // not reopened yet
      const sa2 = a2.party.session({ id: sid, participants })
      expect(sa2.resumed).toEqual({ sent: { [b.id]: 1 }, received: {} })
      expect(text(await sa2.receive(b.id, 1, { timeoutMs: 10_000 }))).toBe('zero')
      expect(text(await sa2.receive(b.id, 1, { timeoutMs: 10_000 }))).toBe('two')
      await sa2.send(b.id, 1, utf8('three'))
      expect(text(await sb.receive(a2.party.id, 1, { timeoutMs: 10_000 }))).toBe('three')
      // the same epoch: b never saw a restart, and its session goes on
      expect(bEvents.filter((e) => e.type === 'session' && e.state === 'aborted')).toEqual([])
      expect(bEvents.filter((e) => 'code' in e && e.code === 'PEER_RESTARTED')).toEqual([])
      expect(a2.events.filter((e) => e.type === 'drop')).toEqual([])
    })

    it('a session it closed is not restored', async () => {
      const { crypto, b, startA } = await world()
      const a1 = await startA()
      const sid = [...crypto.randomBytes(32)]
        .map((x) => x.toString(16).padStart(2, '0'))
        .join('') as SessionId
      a1.party.session({ id: sid, participants: [a1.party.id, b.id] }).close()
      await a1.party.stop()
      await a1.host.closed
      const a2 = await startA()
      expect(a2.host.restored()).toEqual([])
    })

    if (setup.breakStore) {
      const breakStore = setup.breakStore
      it('stops its host when the store fails: a drop event, calls refused with OUTBOX_UNAVAILABLE', async () => {
        const { crypto, b, outbox, startA } = await world()
        const a = await startA()
        const sid = [...crypto.randomBytes(32)]
          .map((x) => x.toString(16).padStart(2, '0'))
          .join('') as SessionId
        const s = a.party.session({ id: sid, participants: [a.party.id, b.id] })
        await s.send(b.id, 1, utf8('kept'))
        await breakStore(outbox)
        await until(
          () => a.events.some((e) => e.type === 'drop' && e.code === 'OUTBOX_UNAVAILABLE'),
          'the drop event',
        )
        // the host stopped as if it had crashed: its sessions closed, the Worker refuses with the cause
        const refused = await s.send(b.id, 1, utf8('not kept')).then(
          () => undefined,
          (e: { code?: string }) => e.code,
        )
        expect(['OUTBOX_UNAVAILABLE', 'SESSION_CLOSED']).toContain(refused)
        await expect(a.host.send(sid, b.id, 1, utf8('not kept'))).rejects.toMatchObject({
          code: 'OUTBOX_UNAVAILABLE',
        })
      })
    }
  })
}
