import { type Party, type PartyId, type SessionId, toHex } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { encodeKeyShare, type FrostKeyShare, runFrostDkg } from '@conclave/protocols'
import { startMemoryParties } from '@conclave/protocols/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ShareStorage, WebStorageShareStore } from '../src/share-store.ts'

/** A Web Storage stand-in: insertion-ordered keys, string values. */
class MapStorage implements ShareStorage {
  readonly items = new Map<string, string>()
  get length(): number {
    return this.items.size
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null
  }
  getItem(k: string): string | null {
    return this.items.get(k) ?? null
  }
  setItem(k: string, v: string): void {
    this.items.set(k, v)
  }
}

const parties: Party[] = []
let shares: FrostKeyShare[] = []

beforeAll(async () => {
  parties.push(...(await startMemoryParties(2, createNobleBackend())))
  const id = toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))) as SessionId
  const ids = parties.map((p) => p.id)
  shares = await Promise.all(
    parties.map((p) => runFrostDkg(p.session({ id, participants: ids }), { threshold: 2 })),
  )
})

afterAll(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

describe('the page key-share store (Web Storage)', () => {
  it('keeps each PartyId’s shares apart, as key-share text under its prefix', async () => {
    const storage = new MapStorage()
    const [a, b] = parties.map((p) => new WebStorageShareStore(storage, p.id)) as [
      WebStorageShareStore,
      WebStorageShareStore,
    ]
    await a.save(shares[0]!)
    await b.save(shares[1]!)
    const key = shares[0]!.groupPublicKey
    expect(storage.getItem(`conclave.frost.${parties[0]!.id}.${key}`)).toBe(encodeKeyShare(shares[0]!))
    expect((await a.get(key))?.index).toBe(shares[0]!.index)
    expect((await b.get(key))?.index).toBe(shares[1]!.index)
    expect((await a.list()).map((s) => s.index)).toEqual([shares[0]!.index])
    expect(await new WebStorageShareStore(storage, 'ff'.repeat(32) as PartyId).list()).toEqual([])
  })

  it('skips an entry that no longer decodes', async () => {
    const storage = new MapStorage()
    const store = new WebStorageShareStore(storage, parties[0]!.id)
    await store.save(shares[0]!)
    storage.setItem(`conclave.frost.${parties[0]!.id}.${'ab'.repeat(32)}`, '{"version":9}')
    expect(await store.get('ab'.repeat(32))).toBeUndefined()
    expect(await store.get('cd'.repeat(32))).toBeUndefined()
    expect((await store.list()).map((s) => s.groupPublicKey)).toEqual([shares[0]!.groupPublicKey])
  })
})
