/**
 * The IndexedDB outbox store in Node, over fake-indexeddb (an in-memory IndexedDB): the shared
 * suite, a context without IndexedDB, and a party restarted with its store keeping its epoch
 * and resuming its session.
 */
import { generateIdentity, openIndexedDbOutboxStore, toHex } from '@conclave/core'
import { createInThreadSessionHost, createParty } from '@conclave/core/host'
import { createNodeCrypto } from '@conclave/core/node'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { network, randomSid } from './helpers.ts'
import { runIndexedDbOutboxStoreTests } from './outbox-idb.suite.ts'

const shared = new IDBFactory()
runIndexedDbOutboxStoreTests('fake-indexeddb', () => shared)

describe('IndexedDB outbox store (Node)', () => {
  it('is OUTBOX_UNAVAILABLE where there is no IndexedDB', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined()
    await expect(openIndexedDbOutboxStore('conclave-outbox-none')).rejects.toMatchObject({
      code: 'OUTBOX_UNAVAILABLE',
    })
  })

  it('a party restarted with its store keeps its epoch and resumes its session', async () => {
    const factory = new IDBFactory()
    const crypto = createNodeCrypto()
    const net = network()
    const key = (await generateIdentity(crypto)).key
    const other = await generateIdentity(crypto)
    const start = async () => {
      const outbox = await openIndexedDbOutboxStore('conclave-outbox-party', { indexedDB: factory })
      const host = createInThreadSessionHost({ crypto, identity: key, outbox })
      const party = createParty({ identity: key, crypto, transport: net.transport(), host })
      await party.start()
      return { party, host, outbox }
    }
    const a = await start()
    const sid = randomSid(crypto)
    const participants = [a.party.id, other.id]
    const s = a.party.session({ id: sid, participants })
    expect(s.resumed).toBeUndefined()
    await s.send(other.id, 1, new Uint8Array([1])) // queued: the other party is not there
    await a.outbox.flush()
    const epoch = toHex(a.host.epoch)
    await a.party.stop()

    const b = await start()
    expect(toHex(b.host.epoch)).toBe(epoch)
    const again = b.party.session({ id: sid, participants })
    expect(again.resumed?.sent).toEqual({ [other.id]: 1 })
    await b.party.stop()
  })
})
