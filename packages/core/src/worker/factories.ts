/**
 * The factories a Worker entry injects into `exposeSessionHost`: the crypto backend and the stores
 * a config names, among those the entry has (so the Worker code never detects its platform).
 * @module
 */
import { createNobleBackend } from '../crypto/noble.ts'
import type { Aead, CryptoBackend } from '../crypto/types.ts'
import { createWebCryptoBackend } from '../crypto/webcrypto.ts'
import { ConclaveError } from '../errors.ts'
import type { GrantStore } from '../session/grants.ts'
import type {
  WorkerCryptoFactory,
  WorkerGrantStoreFactory,
  WorkerOutboxFactory,
  WorkerOutboxStore,
} from './types.ts'

/** How a Worker entry opens each outbox medium it has (see {@link workerOutbox}). */
export interface WorkerOutboxOpeners {
  /** Open the IndexedDB database `name` (browser Workers). */
  indexedDb?: (name: string, durability: 'relaxed' | 'strict' | undefined) => Promise<WorkerOutboxStore>
  /** Open the file at `path` (Node Workers). */
  file?: (path: string) => WorkerOutboxStore | Promise<WorkerOutboxStore>
}

/**
 * The outbox factory of a Worker entry: the medium the config names, among those the entry has.
 *
 * @example
 * ```ts
 * exposeSessionHost(self, workerCrypto({ noble: nobleAead }), {
 *   outbox: workerOutbox({ indexedDb: (name) => openIndexedDbOutboxStore(name) }),
 * })
 * ```
 */
export function workerOutbox(openers: WorkerOutboxOpeners): WorkerOutboxFactory {
  return (config) => {
    const has = Object.keys(openers).join(', ') || 'none'
    if ('indexedDb' in config) {
      if (!openers.indexedDb) {
        throw new ConclaveError(
          'OUTBOX_UNAVAILABLE',
          `this Worker cannot open an IndexedDB outbox store (it opens: ${has})`,
        )
      }
      return openers.indexedDb(config.indexedDb, config.durability)
    }
    if (!openers.file) {
      throw new ConclaveError(
        'OUTBOX_UNAVAILABLE',
        `this Worker cannot open a file outbox store (it opens: ${has})`,
      )
    }
    return openers.file(config.file)
  }
}

/**
 * The crypto factory of a Worker entry: the configured backend (WebCrypto or noble) with the
 * configured AEAD, chosen among those the entry provides.
 *
 * @example
 * ```ts
 * exposeSessionHost(self, workerCrypto({ noble: nobleAead })) // a browser Worker
 * ```
 */
export function workerCrypto(
  aeads: Partial<Record<Aead['name'], Aead>>,
  /** Applied to the WebCrypto backend (the Node Worker adds node:crypto's synchronous Ed25519). */
  enhance: (backend: CryptoBackend) => CryptoBackend = (b) => b,
): WorkerCryptoFactory {
  return (config) => {
    const aead = aeads[config.aead]
    if (!aead) {
      throw new ConclaveError(
        'CRYPTO_UNAVAILABLE',
        `this Worker has no "${config.aead}" AEAD (it has: ${Object.keys(aeads).join(', ') || 'none'})`,
      )
    }
    return config.crypto === 'webcrypto'
      ? enhance(createWebCryptoBackend({ aead }))
      : createNobleBackend({ aead })
  }
}

/** How a Worker entry opens each grant store medium it has (see {@link workerGrantStore}). */
export interface WorkerGrantStoreOpeners {
  /** Open the JSON-lines file at `path` (Node Workers). */
  file?: (path: string) => GrantStore | Promise<GrantStore>
}

/**
 * The grant store factory of a Worker entry: the medium the config names, among those it has.
 *
 * @example
 * ```ts
 * exposeSessionHost(nodeEndpoint(parentPort), crypto, {
 *   grantStore: workerGrantStore({ file: (path) => createFileGrantStore(path) }),
 * })
 * ```
 */
export function workerGrantStore(openers: WorkerGrantStoreOpeners): WorkerGrantStoreFactory {
  return (config) => {
    if (!openers.file) {
      throw new ConclaveError('INVALID_ARGUMENT', 'this Worker cannot open a file grant store')
    }
    return openers.file(config.file)
  }
}
