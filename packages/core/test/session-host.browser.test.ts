/**
 * The session host compliance suite against a Web Worker host (WebCrypto with @noble/ciphers in
 * the Worker, the outbox store in IndexedDB), in a real browser.
 */
import { createWebCryptoBackend } from '@conclave/core/crypto'
import {
  createBrowserWorkerSessionHost,
  toWorkerHostConfig,
  type WorkerSessionHost,
} from '@conclave/core/host'
import { runSessionHostTests } from './kit.ts'

const run = Math.random().toString(36).slice(2)
let n = 0

runSessionHostTests(
  'Web Worker',
  (setup) =>
    createBrowserWorkerSessionHost(
      new Worker(new URL('./fixtures/session-host.worker.ts', import.meta.url), { type: 'module' }),
      toWorkerHostConfig(setup),
    ),
  {
    crypto: () => createWebCryptoBackend(),
    released: (host) => (host as WorkerSessionHost).closed,
    outbox: () => ({ indexedDb: `conclave-host-compliance-${run}-${++n}` }),
  },
)
