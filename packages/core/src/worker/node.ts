/**
 * A session host in a worker_threads Worker (Node only), behind the same comlink interface as a
 * browser's Web Worker.
 * @module
 */
/// <reference path="./comlink-node-adapter.d.ts" />
import { Worker, type WorkerOptions } from 'node:worker_threads'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { ConclaveError } from '../errors.ts'
import { checkWorkerHostConfig } from './config.ts'
import { createWorkerSessionHost, type WorkerSessionHost } from './proxy.ts'
import type { WorkerHostConfig } from './types.ts'

/** Options of {@link createNodeWorkerSessionHost}. */
export interface NodeWorkerSessionHostOptions {
  /**
   * The module the Worker runs; it must call `exposeSessionHost(nodeEndpoint(parentPort), …)`.
   * @default this package's `node-entry`: from the TypeScript sources through `node-bootstrap.mjs`,
   *   which registers tsx in the Worker; from compiled JavaScript, `node-entry.js` directly
   */
  entry?: URL
  /** More Worker options (`resourceLimits`, `env`, `stdout` …). */
  worker?: Omit<WorkerOptions, 'eval' | 'workerData' | 'transferList'>
  /** How long `stop()` waits for the Worker's last batch (ms). @default 2000 */
  stopTimeoutMs?: number
}

function defaultEntry(): URL {
  // running from sources (tsx, vitest) the Worker needs tsx's hooks before the first .ts module
  return import.meta.url.endsWith('.ts')
    ? new URL('./node-bootstrap.mjs', import.meta.url)
    : new URL('./node-entry.js', import.meta.url)
}

/**
 * Start a worker_threads Worker running the session host, and return its main-thread side.
 * `stop()` (called by `party.stop()`) ends the Worker; until then it keeps the process alive.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad config (before any Worker starts); what the
 *   Worker's start throws, with its code; `NOT_STARTED` when the Worker dies while starting
 * @example
 * ```ts
 * const crypto = createNodeCrypto()
 * const { key } = await generateIdentity(crypto)
 * const host = await createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: key }))
 * const party = createParty({ identity: key, crypto, transport, host })
 * ```
 */
export async function createNodeWorkerSessionHost(
  config: WorkerHostConfig,
  options: NodeWorkerSessionHostOptions = {},
): Promise<WorkerSessionHost> {
  checkWorkerHostConfig(config)
  const worker = new Worker(options.entry ?? defaultEntry(), { ...options.worker })
  try {
    return await createWorkerSessionHost(nodeEndpoint(worker), config, {
      terminate: () => worker.terminate(),
      watch: (fail) => {
        worker.once('error', fail)
        worker.once('exit', (code) =>
          fail(new ConclaveError('NOT_STARTED', `the session host Worker exited with code ${code}`)),
        )
      },
      ...(options.stopTimeoutMs !== undefined ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
    })
  } catch (e) {
    await worker.terminate()
    throw e
  }
}
