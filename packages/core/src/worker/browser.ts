/**
 * A session host in a browser Web Worker: the page creates the Worker (so that its bundler sees
 * the entry), this wires the host to it.
 * @module
 */
import type { Endpoint } from 'comlink'
import { ConclaveError } from '../errors.ts'
import { createWorkerSessionHost, type WorkerSessionHost } from './proxy.ts'
import type { WorkerHostConfig } from './types.ts'

/**
 * The main-thread side of a session host running in `worker`, a module Worker whose script
 * imports `@conclave/core/worker` (the browser entry). `stop()` terminates the Worker.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad config; what the Worker's start throws (e.g.
 *   `CRYPTO_UNAVAILABLE` for `aead: 'node'`), with its code
 * @example
 * ```ts
 * const worker = new Worker(new URL('./conclave.worker.ts', import.meta.url), { type: 'module' })
 * const host = await createBrowserWorkerSessionHost(worker, toWorkerHostConfig({ crypto, identity }))
 * const party = createParty({ identity, crypto, transport, host })
 * ```
 */
export function createBrowserWorkerSessionHost(
  worker: Worker,
  config: WorkerHostConfig,
): Promise<WorkerSessionHost> {
  return createWorkerSessionHost(worker as unknown as Endpoint, config, {
    terminate: () => worker.terminate(),
    watch: (fail) => {
      worker.addEventListener('error', (ev) =>
        fail(
          ev.error instanceof Error
            ? ev.error
            : new ConclaveError(
                'NOT_STARTED',
                // a script that did not load fires a plain Event, without a message
                `the session host Worker failed: ${ev.message ?? 'its script did not load (a bundler that pre-bundles @conclave/core moves it away from its Worker entry: with Vite, exclude it from optimizeDeps)'}`,
              ),
        ),
      )
    },
  })
}
