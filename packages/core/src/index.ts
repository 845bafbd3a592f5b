/**
 * `@conclave/core`: the runtime of a Conclave party, for browsers (this entry) and Node
 * (`@conclave/core/node`, which adds the node:crypto AEAD and Node defaults).
 *
 * - identity and ids: {@link generateIdentity}, {@link parsePartyId}
 * - crypto backends: {@link createWebCryptoBackend}, {@link createNobleBackend}
 * - a party in a room, in one call: {@link joinRoom} (or {@link createRoomParty}, then `start()`)
 *   on this platform's parts (Node's are in `@conclave/core/node`)
 * - a party: {@link createParty} over a transport ({@link createMemoryNetwork} …)
 * - sessions: `party.session({ id, participants })` → send / broadcast / receive / collect / abort
 * - outbox stores (a restarted party loses nothing): {@link createMemoryOutboxStore},
 *   {@link openIndexedDbOutboxStore} (the file store is in `@conclave/core/node`)
 * - wire formats and signed contexts, exported for vectors and independent implementations
 * - the signaling protocol and client
 * @packageDocumentation
 * @module @conclave/core
 */

export { type BackoffOptions, backoffDelay } from './backoff.ts'
export * from './bytes.ts'
export { maxPlaintext, Packer, Reassembler } from './channel/framer.ts'
export { Handshake, type HandshakeParams, type HandshakeResult } from './channel/handshake.ts'
export { createMessageChannelTurn, messageChannelTurn, type NextTurn } from './channel/next-turn.ts'
export { SecureChannel, type SecureChannelOptions, type SecureChannelSink } from './channel/secure-channel.ts'
export type { CounterSnapshot, TrafficCounters } from './counters.ts'
export * from './crypto/index.ts'
export * from './errors.ts'
export { Emitter, type EventMap, type Events } from './events.ts'
export * from './identity.ts'
export * from './ids.ts'
export { createParty, type Party, type PartyEvents, type PartyOptions } from './party.ts'
export type { LifecycleTarget, PageLifecycleTargets } from './room/page-lifecycle.ts'
export {
  createPlatformCrypto,
  createRoomParty,
  type JoinRoomOptions,
  joinRoom,
} from './room/room.ts'
export type {
  RoomHost,
  RoomOptions,
  RoomParty,
  RoomSignaling,
  RoomTransport,
  RoomWebRtcOptions,
} from './room/types.ts'
export { parseRoster, type Roster, type RosterEntry } from './roster.ts'
export {
  decodeEcho,
  type EquivocationEvidence,
  echoKind,
  encodeEcho,
  verifyEquivocationEvidence,
} from './session/evidence.ts'
export { checkGrant, createMemoryGrantStore, type GrantCheck, type GrantStore } from './session/grants.ts'
export { createInThreadSessionHost, InThreadSessionHost, type SessionHostConfig } from './session/host.ts'
export { DEFAULT_LIMITS, type Limits, resolveLimits } from './session/limits.ts'
export type * from './session/outbox.ts'
export {
  applyOutboxRecord,
  createMemoryOutboxStore,
  createOutboxState,
  encodeOutboxRecord,
  encodeOutboxSnapshot,
  type MemoryOutboxStore,
  readOutboxLines,
} from './session/outbox-state.ts'
export {
  type IndexedDbOutboxStore,
  type IndexedDbOutboxStoreOptions,
  openIndexedDbOutboxStore,
} from './session/outbox-store.idb.ts'
export { Session, type SessionEvents } from './session/session.ts'
export type * from './session/types.ts'
export * from './signaling/index.ts'
export { TokenBucket, type TokenBucketOptions } from './token-bucket.ts'
export type { DialPolicy } from './transport/connection-manager.ts'
export {
  createHybridTransport,
  type HybridTransport,
  type HybridTransportOptions,
} from './transport/hybrid.ts'
export {
  createMemoryNetwork,
  type InterceptedFrame,
  type Interceptor,
  MemoryNetwork,
} from './transport/memory.ts'
export { isPathEvidence, PATH_EVIDENCE_CODES, type PathAlarmCode } from './transport/path-evidence.ts'
export {
  createRelayTransport,
  type RelayPacing,
  type RelayTransport,
  type RelayTransportOptions,
} from './transport/relay.ts'
export { fingerprintsFromSdp, linkMaxMessageSize, loopbackOnly } from './transport/sdp.ts'
export type {
  SimplePeerConstructor,
  SimplePeerInstance,
  SimplePeerSignal,
} from './transport/simple-peer-types.ts'
export type {
  Link,
  LinkState,
  LinkStateEvent,
  PathHint,
  Transport,
  TransportKind,
} from './transport/types.ts'
export { createWebRtcTransport, type WebRtcTransportOptions } from './transport/webrtc.ts'
export * from './wire/contexts.ts'
export * from './wire/envelope.ts'
export * from './wire/frame.ts'
export * from './wire/grant.ts'
export * from './wire/handshake.ts'
export * from './wire/proposal.ts'
export * from './wire/relay.ts'
export { deriveSessionId, type SessionIdInput } from './wire/sid.ts'
export { createBrowserWorkerSessionHost } from './worker/browser.ts'
export {
  checkWorkerHostConfig,
  rosterHostConfig,
  toWorkerHostConfig,
  type WorkerHostConfigInput,
} from './worker/config.ts'
export { registerErrorTransfer } from './worker/errors.ts'
export { type ExposeSessionHostOptions, exposeSessionHost } from './worker/expose.ts'
export {
  type WorkerGrantStoreOpeners,
  type WorkerOutboxOpeners,
  workerCrypto,
  workerGrantStore,
  workerOutbox,
} from './worker/factories.ts'
export {
  createWorkerSessionHost,
  type WorkerSessionHost,
  type WorkerSessionHostOptions,
} from './worker/proxy.ts'
export type * from './worker/types.ts'
