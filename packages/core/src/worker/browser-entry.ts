/**
 * The entry of a browser session host Worker: the host behind comlink on the Worker's global
 * scope, with WebCrypto Ed25519/X25519 (or noble), @noble/ciphers' ChaCha20-Poly1305, and the
 * IndexedDB outbox store (`outbox: { indexedDb: name }` in the config, opened in the Worker).
 * Importing this module starts it, so import it only from a Worker:
 *
 * ```ts
 * // conclave.worker.ts
 * import '@conclave/core/worker'
 * // page
 * const worker = new Worker(new URL('./conclave.worker.ts', import.meta.url), { type: 'module' })
 * const host = await createBrowserWorkerSessionHost(worker, toWorkerHostConfig({ crypto, identity }))
 * ```
 * @module @conclave/core/worker
 */
import type { Endpoint } from 'comlink'
import { nobleAead } from '../crypto/aead.ts'
import { openIndexedDbOutboxStore } from '../session/outbox-store.idb.ts'
import { exposeSessionHost } from './expose.ts'
import { workerCrypto, workerOutbox } from './factories.ts'

exposeSessionHost(globalThis as unknown as Endpoint, workerCrypto({ noble: nobleAead }), {
  outbox: workerOutbox({
    indexedDb: (name, durability) =>
      openIndexedDbOutboxStore(name, durability !== undefined ? { durability } : {}),
  }),
})
