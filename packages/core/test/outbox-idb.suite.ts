/**
 * The IndexedDB outbox store's tests, run against fake-indexeddb in Node
 * (`outbox-idb.node.test.ts`) and against a browser's IndexedDB (`outbox-idb.browser.test.ts`, in
 * Chromium and in Firefox): reopening folds the same state, compaction (on open, every N records,
 * on demand) keeps it, appends are batched and committed in order, a damaged journal is refused,
 * and a failed store refuses appends with OUTBOX_UNAVAILABLE.
 */
import {
  type IndexedDbOutboxStoreOptions,
  openIndexedDbOutboxStore,
  type PartyId,
  type SessionId,
} from '@conclave/core'
import { encodeOutboxRecord, encodeOutboxSnapshot, type OutboxRecord } from '@conclave/core/host'
import { afterEach, describe, expect, it } from 'vitest'

const P = 'b'.repeat(64) as PartyId
const Q = 'a'.repeat(64) as PartyId
const SID = 'c'.repeat(64) as SessionId

export function enqueue(i: number): OutboxRecord {
  return {
    type: 'enqueue',
    sessionId: SID,
    stream: P,
    streamSeq: i,
    unit: new Uint8Array([i & 255, 1, 2, 3]),
    to: [{ peer: P, seq: i }],
  }
}

/** A journal touching every record type. */
export function journal(): OutboxRecord[] {
  const key = { from: P, round: 1, kind: 'msg', broadcast: false }
  return [
    { type: 'epoch', epoch: new Uint8Array(16).fill(9) },
    { type: 'open', session: { id: SID, participants: [Q, P], roundTimeoutMs: 5000 } },
    { type: 'peer-epoch', peer: P, epoch: '00'.repeat(16) },
    ...[0, 1, 2].map(enqueue),
    { type: 'ack', peer: P, next: 1 },
    ...[0, 1, 2].map(
      (i): OutboxRecord => ({
        type: 'accept',
        sessionId: SID,
        key,
        body: new Uint8Array([i]),
        replayStream: 's',
        replaySeq: i,
        fresh: 'f',
        deliverySeq: i,
      }),
    ),
    { type: 'processed', peer: P, next: 3 },
    { type: 'take', sessionId: SID, key },
    { type: 'round', sessionId: SID, round: 4 },
    { type: 'end', sessionId: 'd'.repeat(64) as SessionId },
  ]
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

function openRaw(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  const r = factory.open(name, 1)
  r.onupgradeneeded = () => r.result.createObjectStore('journal', { autoIncrement: true })
  return req(r)
}

/** What the database holds, in key order (read through a connection of its own). */
export async function rawEntries(factory: IDBFactory, name: string): Promise<unknown[]> {
  const db = await openRaw(factory, name)
  try {
    return await req(db.transaction('journal', 'readonly').objectStore('journal').getAll())
  } finally {
    db.close()
  }
}

async function rawWrite(factory: IDBFactory, name: string, values: unknown[]): Promise<void> {
  const db = await openRaw(factory, name)
  try {
    const tx = db.transaction('journal', 'readwrite')
    for (const v of values) tx.objectStore('journal').add(v)
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onabort = () => reject(tx.error)
    })
  } finally {
    db.close()
  }
}

/**
 * Run the suite against the IndexedDB `factory()` returns.
 * @param env names the run (`'fake-indexeddb'`, `'the browser'`)
 */
export function runIndexedDbOutboxStoreTests(env: string, factory: () => IDBFactory): void {
  describe(`IndexedDB outbox store (${env})`, () => {
    const names: string[] = []
    afterEach(async () => {
      for (const n of names.splice(0)) await req(factory().deleteDatabase(n)).catch(() => undefined)
    })
    const fresh = (): string => {
      const n = `conclave-outbox-test-${Math.random().toString(36).slice(2)}`
      names.push(n)
      return n
    }
    const open = (name: string, o: IndexedDbOutboxStoreOptions = {}) =>
      openIndexedDbOutboxStore(name, { indexedDB: factory(), ...o })

    it('folds what it is given at once, and reopens to the same state (compacted to one snapshot)', async () => {
      const name = fresh()
      const a = await open(name)
      for (const r of journal()) a.append(r)
      const expected = encodeOutboxSnapshot(a.load())
      expect(a.load().peers.get(P)!.processed).toBe(3)
      expect(a.pending).toBe(journal().length)
      await a.flush()
      expect(a.pending).toBe(0)
      // the snapshot of the empty store written on open, then one line per record
      expect(await rawEntries(factory(), name)).toHaveLength(1 + journal().length)
      a.close()
      const b = await open(name)
      expect(encodeOutboxSnapshot(b.load())).toBe(expected)
      expect(
        b
          .load()
          .sessions.get(SID)!
          .inbox.map((m) => m.body[0]),
      ).toEqual([1, 2])
      expect(b.tornLines).toBe(0)
      b.close()
      expect(await rawEntries(factory(), name)).toEqual([expected])
    })

    it('close() still writes what is queued', async () => {
      const name = fresh()
      const a = await open(name)
      for (let i = 0; i < 50; i++) a.append(enqueue(i))
      a.close() // no flush: the records are written by close, before the connection shuts
      await a.flush()
      expect(() => a.append(enqueue(50))).toThrowError(
        expect.objectContaining({ code: 'OUTBOX_UNAVAILABLE' }),
      )
      const b = await open(name)
      expect(b.load().peers.get(P)!.unacked.size).toBe(50)
      b.close()
    })

    it('commits appends in order, across turns and transactions', async () => {
      const name = fresh()
      const a = await open(name)
      const flushes: Promise<void>[] = []
      for (let turn = 0; turn < 20; turn++) {
        for (let i = 0; i < 10; i++) a.append(enqueue(turn * 10 + i))
        flushes.push(a.flush())
        await Promise.resolve()
      }
      const ack: OutboxRecord = { type: 'ack', peer: P, next: 150 }
      a.append(ack)
      await Promise.all(flushes)
      await a.flush()
      const lines = (await rawEntries(factory(), name)).slice(1)
      expect(lines).toEqual(
        [...Array.from({ length: 200 }, (_, i) => enqueue(i)), ack].map(encodeOutboxRecord),
      )
      a.close()
      const b = await open(name)
      expect([...b.load().peers.get(P)!.unacked.keys()]).toEqual(
        Array.from({ length: 50 }, (_, i) => 150 + i),
      )
      b.close()
    })

    it('compacts every `compactEvery` records, and on demand, keeping the state', async () => {
      const name = fresh()
      const a = await open(name, { compactEvery: 50 })
      for (let i = 0; i < 120; i++) a.append(enqueue(i))
      expect(a.journaled).toBe(20)
      await a.flush()
      expect(await rawEntries(factory(), name)).toHaveLength(21) // snapshot + 20 records
      a.append({ type: 'ack', peer: P, next: 100 })
      const before = encodeOutboxSnapshot(a.load())
      a.compact()
      expect(a.journaled).toBe(0)
      await a.flush()
      expect(await rawEntries(factory(), name)).toEqual([before])
      a.append(enqueue(120))
      a.close()
      const b = await open(name)
      expect([...b.load().peers.get(P)!.unacked.keys()]).toEqual(
        Array.from({ length: 21 }, (_, i) => 100 + i),
      )
      expect(b.load().sessions.size).toBe(0)
      b.close()
    })

    it('skips a damaged last line with a warning; damage before it is OUTBOX_CORRUPT', async () => {
      const torn = fresh()
      await rawWrite(factory(), torn, [
        ...[0, 1, 2].map((i) => encodeOutboxRecord(enqueue(i))),
        '{"type":"enq',
      ])
      const warnings: string[] = []
      const a = await open(torn, { onWarning: (m) => warnings.push(m) })
      expect(a.tornLines).toBe(1)
      expect(warnings).toHaveLength(1)
      expect(a.load().peers.get(P)!.unacked.size).toBe(3)
      a.close()

      const bad = fresh()
      await rawWrite(factory(), bad, ['{"type":', encodeOutboxRecord(enqueue(0))])
      await expect(open(bad)).rejects.toMatchObject({ code: 'OUTBOX_CORRUPT' })
      // refused without rewriting anything
      expect(await rawEntries(factory(), bad)).toHaveLength(2)

      const notText = fresh()
      await rawWrite(factory(), notText, [{ type: 'epoch' }])
      await expect(open(notText)).rejects.toMatchObject({ code: 'OUTBOX_CORRUPT' })
    })

    it('fails when the database is deleted elsewhere: flush rejects, append throws OUTBOX_UNAVAILABLE', async () => {
      const name = fresh()
      const a = await open(name)
      a.append(enqueue(0))
      await a.flush()
      await req(factory().deleteDatabase(name)) // another tab; the store lets it go
      await expect(a.flush()).rejects.toMatchObject({ code: 'OUTBOX_UNAVAILABLE' })
      expect(() => a.append(enqueue(1))).toThrowError(expect.objectContaining({ code: 'OUTBOX_UNAVAILABLE' }))
      a.close()
    })

    it('checks its arguments', async () => {
      await expect(openIndexedDbOutboxStore('', { indexedDB: factory() })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      await expect(open(fresh(), { compactEvery: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(open(fresh(), { durability: 'sometimes' as unknown as 'strict' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      await expect(open(fresh(), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' })
    })
  })
}
