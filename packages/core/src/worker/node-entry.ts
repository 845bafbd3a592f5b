/**
 * The entry of a Node session host Worker (worker_threads): the host behind comlink on
 * `parentPort`, with WebCrypto Ed25519/X25519 or noble, node:crypto's ChaCha20-Poly1305, and the
 * file outbox store (`outbox: { file: path }` in the config; `{ indexedDb }` is refused with
 * OUTBOX_UNAVAILABLE: Node has no IndexedDB) and the file grant store (`grantStore: { file: path }`). Started by `createNodeWorkerSessionHost`.
 * @module
 */
/// <reference path="./comlink-node-adapter.d.ts" />
import { parentPort } from 'node:worker_threads'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { setImmediateTurn } from '../channel/next-turn.node.ts'
import { nodeAead } from '../crypto/aead.node.ts'
import { nobleAead } from '../crypto/aead.ts'
import { withNodeNative } from '../crypto/native.node.ts'
import { ConclaveError } from '../errors.ts'
import { createFileGrantStore } from '../session/grant-store.node.ts'
import { createFileOutboxStore } from '../session/outbox-store.node.ts'
import { exposeSessionHost } from './expose.ts'
import { workerCrypto, workerGrantStore, workerOutbox } from './factories.ts'

if (!parentPort) throw new ConclaveError('NOT_STARTED', 'node-entry.ts runs inside a worker_threads Worker')
exposeSessionHost(
  nodeEndpoint(parentPort),
  workerCrypto({ node: nodeAead, noble: nobleAead }, withNodeNative),
  {
    outbox: workerOutbox({ file: (path) => createFileOutboxStore(path) }),
    grantStore: workerGrantStore({ file: (path) => createFileGrantStore(path) }),
    nextTurn: setImmediateTurn,
  },
)
