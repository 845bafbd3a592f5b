/**
 * The page's FROST key shares, in Web Storage (localStorage) under
 * `conclave.frost.<PartyId>.<group key>`, as `encodeKeyShare` text. DEMO ONLY: the secret share
 * is stored in clear; a real deployment keeps it in protected storage.
 * @module
 */
import type { PartyId } from '@conclave/core'
import { decodeKeyShare, encodeKeyShare, type FrostKeyShare, type FrostShareStore } from '@conclave/protocols'

/** The part of the Web Storage API the store uses (localStorage, or a stand-in in tests). */
export type ShareStorage = Pick<Storage, 'getItem' | 'setItem' | 'key' | 'length'>

/** A {@link FrostShareStore} of one PartyId in `storage` (passed in: the page gives localStorage). */
export class WebStorageShareStore implements FrostShareStore {
  private readonly prefix: string

  constructor(
    private readonly storage: ShareStorage,
    self: PartyId,
  ) {
    this.prefix = `conclave.frost.${self}.`
  }

  async save(share: FrostKeyShare): Promise<void> {
    this.storage.setItem(this.prefix + share.groupPublicKey, encodeKeyShare(share))
  }

  /** The share of `groupKey`; undefined when there is none or it no longer decodes. */
  async get(groupKey: string): Promise<FrostKeyShare | undefined> {
    return this.read(this.prefix + groupKey)
  }

  /** Every share of this PartyId that decodes, in the storage's key order. */
  async list(): Promise<FrostKeyShare[]> {
    const out: FrostKeyShare[] = []
    for (let i = 0; i < this.storage.length; i++) {
      const k = this.storage.key(i)
      const share = k?.startsWith(this.prefix) ? this.read(k) : undefined
      if (share) out.push(share)
    }
    return out
  }

  private read(key: string): FrostKeyShare | undefined {
    const text = this.storage.getItem(key)
    if (!text) return undefined
    try {
      return decodeKeyShare(text)
    } catch {
      return undefined
    }
  }
}
