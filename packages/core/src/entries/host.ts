/**
 * `@conclave/core/host`: a party assembled from its parts, where `joinRoom` does not fit
 * (tests, benchmarks, a custom transport or Worker): {@link createParty} over a transport and a
 * session host; the session host in-thread ({@link createInThreadSessionHost}) or in a Worker
 * ({@link createBrowserWorkerSessionHost}, {@link createWorkerSessionHost}, and
 * {@link exposeSessionHost} on the Worker's side) with the configuration that crosses into it;
 * the kit for an outbox or grant store of your own. Node's worker_threads host is in
 * `@conclave/core/node` (`createNodeWorkerSessionHost`).
 * @packageDocumentation
 * @module @conclave/core/host
 */

export { createParty, type PartyOptions } from '../party.ts'
export { checkGrant, createMemoryGrantStore, type GrantCheck } from '../session/grants.ts'
export { createInThreadSessionHost, InThreadSessionHost, type SessionHostConfig } from '../session/host.ts'
export type {
  OutboxInboxKey,
  OutboxPeerState,
  OutboxRecord,
  OutboxSessionOptions,
  OutboxSessionState,
  OutboxState,
} from '../session/outbox.ts'
export {
  applyOutboxRecord,
  createOutboxState,
  encodeOutboxRecord,
  encodeOutboxSnapshot,
  readOutboxLines,
} from '../session/outbox-state.ts'
export type { HostSink, LinkInfo, SessionHost } from '../session/types.ts'
export { createBrowserWorkerSessionHost } from '../worker/browser.ts'
export {
  checkWorkerHostConfig,
  rosterHostConfig,
  toWorkerHostConfig,
  type WorkerHostConfigInput,
} from '../worker/config.ts'
export { registerErrorTransfer } from '../worker/errors.ts'
export { type ExposeSessionHostOptions, exposeSessionHost } from '../worker/expose.ts'
export {
  type WorkerGrantStoreOpeners,
  type WorkerOutboxOpeners,
  workerCrypto,
  workerGrantStore,
  workerOutbox,
} from '../worker/factories.ts'
export {
  createWorkerSessionHost,
  type WorkerSessionHost,
  type WorkerSessionHostOptions,
} from '../worker/proxy.ts'
export type {
  BridgeCall,
  HostCall,
  HostSnapshot,
  NonCloneableKeys,
  NotCloneable,
  RemoteSink,
  SinkBatch,
  WithSnapshot,
  WorkerConfigOf,
  WorkerConfigReplacements,
  WorkerCryptoFactory,
  WorkerGrantStoreConfig,
  WorkerGrantStoreFactory,
  WorkerHostApi,
  WorkerHostConfig,
  WorkerHostStarted,
  WorkerOutboxConfig,
  WorkerOutboxFactory,
  WorkerOutboxStore,
} from '../worker/types.ts'
