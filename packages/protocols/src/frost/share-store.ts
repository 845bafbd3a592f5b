/**
 * Where a party keeps its FROST key shares between a DKG and the signings that use them: the
 * contract ({@link FrostShareStore}) and an in-memory implementation for tests and short-lived
 * parties. The web demo keeps its shares in localStorage; a CLI keeps one in a 0600 file.
 * @module
 */
import { ConclaveError } from '@conclave/core'
import type { FrostKeyShare } from './key-share.ts'

/**
 * Key shares of one party, by group public key. Asynchronous so that IndexedDB, files or a
 * remote vault can implement it.
 */
export interface FrostShareStore {
  /** Keep `share` (replaces a share of the same group key). */
  save(share: FrostKeyShare): Promise<void>
  /** The share of `groupPublicKey` (64 hex), or undefined when this party holds none. */
  get(groupPublicKey: string): Promise<FrostKeyShare | undefined>
  /** Every share held, in the order they were first saved. */
  list(): Promise<FrostKeyShare[]>
}

/** A {@link FrostShareStore} in memory: shares are lost with the process. */
export class MemoryShareStore implements FrostShareStore {
  readonly #shares = new Map<string, FrostKeyShare>()

  /** @throws ConclaveError `INVALID_ARGUMENT` for something that is not a key share */
  async save(share: FrostKeyShare): Promise<void> {
    if (typeof share?.groupPublicKey !== 'string')
      throw new ConclaveError('INVALID_ARGUMENT', '"share" expected a FrostKeyShare')
    this.#shares.set(share.groupPublicKey.toLowerCase(), share)
  }

  async get(groupPublicKey: string): Promise<FrostKeyShare | undefined> {
    return this.#shares.get(String(groupPublicKey).toLowerCase())
  }

  async list(): Promise<FrostKeyShare[]> {
    return [...this.#shares.values()]
  }
}
