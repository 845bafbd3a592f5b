/**
 * The session host compliance suite against the in-thread host and the worker_threads host, and
 * the boundary itself: errors keep their code and details, frames are transferred, Workers end.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { ConclaveError, generateIdentity, type PartyEvent, type PartyId } from '@conclave/core'
import { createWebCryptoBackend, nobleAead } from '@conclave/core/crypto'
import {
  createInThreadSessionHost,
  createWorkerSessionHost,
  exposeSessionHost,
  registerErrorTransfer,
  type SessionHost,
  toWorkerHostConfig,
  type WorkerSessionHost,
  workerCrypto,
} from '@conclave/core/host'
import {
  createFileGrantStore,
  createFileOutboxStore,
  createNodeCrypto,
  createNodeWorkerSessionHost,
} from '@conclave/core/node'
import { type Endpoint, expose, wrap } from 'comlink'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { runSessionHostTests } from './kit.ts'

/** Worker and port handles of this process (what would keep it alive). */
function boundaryHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length
}

async function released(host: SessionHost): Promise<void> {
  await (host as WorkerSessionHost).closed
  // the Worker and both ports (the endpoint, the sink proxy) let go within a few turns
  const end = Date.now() + 2000
  while (boundaryHandles() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  expect(process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker')).toEqual([])
}

/** Store files no test used before (the directory goes when the file's tests end). */
const storeDir = mkdtempSync(join(tmpdir(), 'conclave-host-stores-'))
afterAll(() => rmSync(storeDir, { recursive: true, force: true }))
let storeFiles = 0
const grantStore = () => ({ file: join(storeDir, `grants-${++storeFiles}.jsonl`) })
const outbox = () => ({ file: join(storeDir, `outbox-${++storeFiles}.log`) })

runSessionHostTests(
  'in-thread',
  async ({ grantStore: grants, outbox: journal, ...setup }) =>
    createInThreadSessionHost({
      ...setup,
      ...(grants ? { grantStore: createFileGrantStore(grants.file) } : {}),
      ...(journal && 'file' in journal ? { outbox: createFileOutboxStore(journal.file) } : {}),
    }),
  { crypto: createNodeCrypto, grantStore, outbox },
)

runSessionHostTests('worker_threads', (setup) => createNodeWorkerSessionHost(toWorkerHostConfig(setup)), {
  crypto: createNodeCrypto,
  released,
  grantStore,
  outbox,
})

// The browser entry's setup (WebCrypto with @noble/ciphers, an EventTarget-style endpoint) without
// a browser: both sides of comlink in this thread, over a MessageChannel.
runSessionHostTests(
  'comlink over a MessageChannel, browser crypto',
  async (setup) => {
    const { port1, port2 } = new MessageChannel()
    exposeSessionHost(port1 as unknown as Endpoint, workerCrypto({ noble: nobleAead }))
    return createWorkerSessionHost(port2 as unknown as Endpoint, toWorkerHostConfig(setup), {
      terminate: () => port2.close(),
    })
  },
  { crypto: () => createWebCryptoBackend(), released },
)

const workers: WorkerSessionHost[] = []
afterEach(async () => {
  for (const w of workers.splice(0)) {
    w.terminate()
    await w.closed
  }
})

async function workerHost(): Promise<{ host: WorkerSessionHost; id: PartyId }> {
  const crypto = createNodeCrypto()
  const { key, id } = await generateIdentity(crypto)
  const host = await createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: key }))
  workers.push(host)
  return { host, id }
}

describe('the Worker boundary', () => {
  it('keeps a ConclaveError: class, name, code, message, plain details and cause', async () => {
    registerErrorTransfer()
    registerErrorTransfer() // idempotent
    const { port1, port2 } = new MessageChannel()
    try {
      class Opaque {
        x = 1
      }
      const cycle: Record<string, unknown> = { name: 'loop' }
      cycle.self = cycle
      expose(
        {
          fail(): never {
            throw new ConclaveError(
              'ROUND_TIMEOUT',
              'round 3: no message from 1 party',
              {
                round: 3,
                silent: ['ab'],
                bytes: new Uint8Array([1, 2]),
                fn: () => 1,
                opaque: new Opaque(),
                nested: { ok: true, sym: Symbol('s'), list: [1, () => 2, 'three'] },
                cycle,
              },
              { cause: new TypeError('inner') },
            )
          },
          async failAsync(): Promise<never> {
            throw new RangeError('out of range')
          },
          failValue(): never {
            throw { plain: 'value' }
          },
        },
        port1 as never,
      )
      const remote = wrap<{ fail(): void; failAsync(): Promise<void>; failValue(): void }>(port2 as never)
      const e = await remote.fail().catch((x: unknown) => x)
      expect(e).toBeInstanceOf(ConclaveError)
      const err = e as ConclaveError
      expect(err.name).toBe('ConclaveError')
      expect(err.code).toBe('ROUND_TIMEOUT')
      expect(err.message).toBe('round 3: no message from 1 party')
      expect(err.details).toEqual({
        round: 3,
        silent: ['ab'],
        bytes: new Uint8Array([1, 2]),
        nested: { ok: true, list: [1, undefined, 'three'] },
        cycle: { name: 'loop' },
      })
      expect(err.cause).toBeInstanceOf(TypeError)
      expect((err.cause as Error).message).toBe('inner')
      const r = await remote.failAsync().catch((x: unknown) => x)
      expect(r).toBeInstanceOf(RangeError)
      expect(r).toMatchObject({ message: 'out of range' })
      await expect(remote.failValue()).rejects.toEqual({ plain: 'value' })
    } finally {
      port1.close()
      port2.close()
    }
  })

  it('carries error codes and details out of the Worker', async () => {
    const { host, id } = await workerHost()
    const crypto = createNodeCrypto()
    const other = (await generateIdentity(crypto)).id
    const sid = [...crypto.randomBytes(32)].map((b) => b.toString(16).padStart(2, '0')).join('') as never
    const events: PartyEvent[] = []
    host.connect({
      sendFrame: () => undefined,
      closeLink: () => undefined,
      requestLink: () => undefined,
      event: (e) => events.push(e),
    })
    host.openSession({ id: sid, participants: [id, other] })
    const e = await host.receive(sid, other, 2, { timeoutMs: 10 }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ConclaveError)
    expect(e).toMatchObject({ code: 'ROUND_TIMEOUT', details: { round: 2, silent: [other] } })
    await expect(host.send(sid, other, 0, new Uint8Array(1))).rejects.toMatchObject({
      code: 'ROUND_RESERVED',
    })
    // a bad config is refused before any Worker starts
    const identity = (await generateIdentity(crypto)).key
    await expect(
      createNodeWorkerSessionHost({ ...toWorkerHostConfig({ crypto, identity }), aead: 'x' as never }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    // what the Worker's start throws crosses with its code (here: a Worker without that AEAD)
    const { port1, port2 } = new MessageChannel()
    exposeSessionHost(port1 as unknown as Endpoint, workerCrypto({ noble: nobleAead }))
    const failed = await createWorkerSessionHost(
      port2 as unknown as Endpoint,
      toWorkerHostConfig({ crypto, identity }),
      {
        terminate: () => port2.close(),
      },
    ).catch((x: unknown) => x)
    expect(failed).toBeInstanceOf(ConclaveError)
    expect(failed).toMatchObject({ code: 'CRYPTO_UNAVAILABLE' })
  })

  it('transfers an exact incoming frame (detaching it) and copies a view into a larger buffer', async () => {
    const { host } = await workerHost()
    const exact = new Uint8Array(64).fill(1)
    const backing = new Uint8Array(256)
    const view = backing.subarray(16, 80)
    host.linkFrame('no-such-link', exact)
    host.linkFrame('no-such-link', view)
    await new Promise((r) => setImmediate(r))
    expect(exact.buffer.byteLength).toBe(0) // detached: it moved to the Worker
    expect(backing.buffer.byteLength).toBe(256) // untouched: a copy moved
    expect(view.length).toBe(64)
  })

  it("hands out the Worker's frames as exact, unpooled buffers", async () => {
    const { host } = await workerHost()
    const peer = (await generateIdentity(createNodeCrypto())).id
    const frames: Uint8Array[] = []
    host.connect({
      sendFrame: (_, f) => frames.push(f),
      closeLink: () => undefined,
      requestLink: () => undefined,
      event: () => undefined,
    })
    host.linkOpened({ linkId: 'l1', peer, initiator: true, kind: 'memory', maxFrameSize: 65536 })
    const end = Date.now() + 5000
    while (frames.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5))
    expect(frames.length).toBeGreaterThan(0)
    for (const f of frames) {
      expect(f.byteOffset).toBe(0)
      expect(f.byteLength).toBe(f.buffer.byteLength)
    }
  })

  it('rejects pending calls with NOT_STARTED when the Worker is terminated', async () => {
    const { host, id } = await workerHost()
    const other = (await generateIdentity(createNodeCrypto())).id
    const sid = 'ab'.repeat(32) as never
    host.connect({
      sendFrame: () => undefined,
      closeLink: () => undefined,
      requestLink: () => undefined,
      event: () => undefined,
    })
    host.openSession({ id: sid, participants: [id, other] })
    const pending = host.receive(sid, other, 1)
    await new Promise((r) => setTimeout(r, 20))
    host.terminate()
    await expect(pending).rejects.toMatchObject({ code: 'NOT_STARTED' })
    await host.closed
    await expect(host.send(sid, other, 1, new Uint8Array(1))).rejects.toMatchObject({ code: 'NOT_STARTED' })
    expect(() => host.openSession({ id: 'cd'.repeat(32) as never, participants: [id, other] })).toThrowError(
      expect.objectContaining({ code: 'NOT_STARTED' }),
    )
  })
})
