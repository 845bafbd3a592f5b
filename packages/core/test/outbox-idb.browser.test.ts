/**
 * The IndexedDB outbox store in a browser (Chromium or Firefox): the store's suite on the page's
 * IndexedDB, and a Web Worker host that opens it from its config (`outbox: { indexedDb }`),
 * restarted in a new Worker.
 */
import { createWebCryptoBackend } from '@conclave/core/crypto'
import { createBrowserWorkerSessionHost } from '@conclave/core/host'
import { runIndexedDbOutboxStoreTests } from './outbox-idb.suite.ts'
import { runWorkerOutboxTests } from './worker-outbox.suite.ts'

runIndexedDbOutboxStoreTests('the browser', () => indexedDB)

const run = Math.random().toString(36).slice(2)
let n = 0

runWorkerOutboxTests('Web Worker, IndexedDB', {
  crypto: () => createWebCryptoBackend(),
  outbox: () => ({ indexedDb: `conclave-outbox-worker-${run}-${++n}` }),
  start: (config) =>
    createBrowserWorkerSessionHost(
      new Worker(new URL('./fixtures/session-host.worker.ts', import.meta.url), { type: 'module' }),
      config,
    ),
  // another tab deletes the database: the Worker's store lets it go and fails
  breakStore: (outbox) =>
    new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase((outbox as { indexedDb: string }).indexedDb)
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    }),
})
