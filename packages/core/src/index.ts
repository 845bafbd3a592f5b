/**
 * `@conclave/core`: what an application needs to join a room and run sessions, in a browser
 * (this entry) or in Node (`@conclave/core/node`: the same names on Node's parts, plus its
 * crypto and file stores).
 *
 * - a party in a room, in one call: {@link joinRoom} (or {@link createRoomParty}, then `start()`)
 * - identity and ids: {@link generateIdentity}, {@link importIdentity}, {@link parsePartyId},
 *   {@link parseSessionId}; the platform's crypto backend: {@link createPlatformCrypto}
 * - sessions: `party.propose(…)`, `party.join(…)`, `party.session(…)` → send / broadcast /
 *   receive / collect / abort ({@link Session}), and the party's events ({@link PartyEvent})
 * - errors with stable codes: {@link ConclaveError}, {@link errorCode}, {@link ERROR_CODES}
 * - trust and tuning: {@link parseRoster}, {@link DEFAULT_LIMITS}, {@link issueGrant}
 * - ICE servers for `joinRoom`: {@link checkIceServers}, and time-limited TURN credentials
 *   minted per connection attempt with {@link turnRestCredentials}
 * - outbox stores (a restarted party loses nothing): {@link openIndexedDbOutboxStore},
 *   {@link createMemoryOutboxStore}
 *
 * The parts live behind subpaths, each with one job: `@conclave/core/host` (createParty and the
 * session hosts, for an assembly of your own), `/transport` (webrtc, relay, hybrid and memory
 * transports), `/signaling` (the signaling protocol, its validators and the client), `/channel`
 * (the secure channel and its handshake), `/crypto` (the crypto backends), `/wire` (every byte
 * format and signed context, for vectors and independent implementations).
 * @packageDocumentation
 * @module @conclave/core
 */

export { fromHex, toHex, utf8 } from './bytes.ts'
export { type CounterSnapshot, MAX_PENALIZED_PEERS_LISTED, type TrafficCounters } from './counters.ts'
export type { CryptoBackend, SigningKey } from './crypto/types.ts'
export {
  ConclaveError,
  ERROR_CODES,
  type ErrorCode,
  errorCode,
  isConclaveError,
  isErrorCode,
} from './errors.ts'
export type { EventMap, Events } from './events.ts'
export * from './identity.ts'
export {
  type PartyId,
  parsePartyId,
  parseSessionId,
  partyIdFromBytes,
  partyIdToBytes,
  type SessionId,
  sessionIdFromBytes,
  sessionIdToBytes,
} from './ids.ts'
export type { Party, PartyEvents } from './party.ts'
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
export { type EquivocationEvidence, verifyEquivocationEvidence } from './session/evidence.ts'
export type { GrantStore } from './session/grants.ts'
export { DEFAULT_LIMITS, type Limits, resolveLimits } from './session/limits.ts'
export type { OutboxStore } from './session/outbox.ts'
export { createMemoryOutboxStore, type MemoryOutboxStore } from './session/outbox-state.ts'
export {
  type IndexedDbOutboxStore,
  type IndexedDbOutboxStoreOptions,
  openIndexedDbOutboxStore,
} from './session/outbox-store.idb.ts'
export { Session, type SessionEvents } from './session/session.ts'
export type {
  PartyEvent,
  PeerInfo,
  PeerState,
  ProposalInfo,
  ProposeOptions,
  ReceiveOptions,
  SessionOptions,
  SessionResume,
} from './session/types.ts'
export { checkIceServers, type IceServersFunction, type IceServersOption } from './transport/ice-servers.ts'
export { PATH_EVIDENCE_CODES, type PathAlarmCode } from './transport/path-evidence.ts'
export {
  TURN_REST_MAX_TTL_SECONDS,
  type TurnRestOptions,
  turnRestCredentials,
} from './transport/turn-rest.ts'
export type { TransportKind } from './transport/types.ts'
export { type GrantFields, issueGrant } from './wire/grant.ts'
export type { RestoredSession } from './worker/types.ts'
