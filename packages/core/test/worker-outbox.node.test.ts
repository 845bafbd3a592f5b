/**
 * The Worker host's outbox store in Node: a worker_threads Worker with a file store, the browser
 * entry's wiring (comlink over a MessageChannel) with fake-indexeddb, the config checks, and a
 * Worker that cannot open the medium it is given.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { generateIdentity, openIndexedDbOutboxStore } from '@conclave/core'
import { nobleAead } from '@conclave/core/crypto'
import {
  checkWorkerHostConfig,
  createWorkerSessionHost,
  exposeSessionHost,
  toWorkerHostConfig,
  type WorkerHostConfig,
  type WorkerOutboxConfig,
  workerCrypto,
  workerOutbox,
} from '@conclave/core/host'
import { createNodeCrypto, createNodeWorkerSessionHost, nodeAead } from '@conclave/core/node'
import type { Endpoint } from 'comlink'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, describe, expect, it } from 'vitest'
import { runWorkerOutboxTests } from './worker-outbox.suite.ts'

const dir = mkdtempSync(join(tmpdir(), 'worker-outbox-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

runWorkerOutboxTests('worker_threads, file', {
  crypto: createNodeCrypto,
  outbox: () => ({ file: join(dir, `party-${++n}.outbox`) }),
  start: (config) => createNodeWorkerSessionHost(config),
})

// the browser entry's setup without a browser: both sides of comlink in this thread, the
// IndexedDB store over fake-indexeddb (which outlives the "Worker" here, as IndexedDB would)
const idb = new IDBFactory()
function inThreadWorker(config: WorkerHostConfig) {
  const { port1, port2 } = new MessageChannel()
  exposeSessionHost(port1 as unknown as Endpoint, workerCrypto({ node: nodeAead, noble: nobleAead }), {
    outbox: workerOutbox({
      indexedDb: (name, durability) =>
        openIndexedDbOutboxStore(name, { indexedDB: idb, ...(durability ? { durability } : {}) }),
    }),
  })
  return createWorkerSessionHost(port2 as unknown as Endpoint, config, {
    terminate: () => {
      port1.close()
      port2.close()
    },
  })
}

runWorkerOutboxTests('comlink over a MessageChannel, fake-indexeddb', {
  crypto: createNodeCrypto,
  outbox: () => ({ indexedDb: `conclave-outbox-${++n}` }),
  start: inThreadWorker,
  breakStore: async (outbox) => {
    const name = (outbox as { indexedDb: string }).indexedDb
    await new Promise((resolve, reject) => {
      const req = idb.deleteDatabase(name)
      req.onsuccess = resolve
      req.onerror = () => reject(req.error)
    })
  },
})

describe('WorkerHostConfig.outbox', () => {
  it('is checked: one medium, a name, a known durability (INVALID_ARGUMENT)', async () => {
    const crypto = createNodeCrypto()
    const { key } = await generateIdentity(crypto)
    const base = toWorkerHostConfig({ crypto, identity: key })
    const bad: unknown[] = [
      null,
      'conclave-outbox',
      {},
      { indexedDb: '' },
      { indexedDb: 'x', file: 'y' },
      { indexedDb: 7 },
      { file: 'x'.repeat(2000) },
      { sqlite: 'x' },
      { indexedDb: 'x', durability: 'sometimes' },
      { file: 'x', durability: 'strict' },
    ]
    for (const outbox of bad) {
      expect(
        () => checkWorkerHostConfig({ ...base, outbox: outbox as WorkerOutboxConfig }),
        JSON.stringify(outbox),
      ).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
    for (const outbox of [
      { indexedDb: 'x' },
      { indexedDb: 'x', durability: 'strict' as const },
      { file: 'x' },
    ]) {
      expect(() => checkWorkerHostConfig({ ...base, outbox })).not.toThrow()
    }
    expect(toWorkerHostConfig({ crypto, identity: key, outbox: { file: 'x' } }).outbox).toEqual({ file: 'x' })
  })

  it('a Worker without that medium refuses to start (OUTBOX_UNAVAILABLE)', async () => {
    const crypto = createNodeCrypto()
    const { key } = await generateIdentity(crypto)
    // Node has no IndexedDB
    await expect(
      createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: key, outbox: { indexedDb: 'x' } })),
    ).rejects.toMatchObject({ code: 'OUTBOX_UNAVAILABLE' })
    // a Worker exposed without outbox stores at all
    const { port1, port2 } = new MessageChannel()
    exposeSessionHost(port1 as unknown as Endpoint, workerCrypto({ node: nodeAead, noble: nobleAead }))
    await expect(
      createWorkerSessionHost(
        port2 as unknown as Endpoint,
        toWorkerHostConfig({ crypto, identity: key, outbox: { file: join(dir, 'never') } }),
        { terminate: () => port2.close() },
      ),
    ).rejects.toMatchObject({ code: 'OUTBOX_UNAVAILABLE' })
    port1.close()
  })
})
