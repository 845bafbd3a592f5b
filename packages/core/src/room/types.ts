/**
 * The front door's contracts (types only): what `joinRoom` / `createRoomParty` take
 * ({@link RoomOptions}), what they give back ({@link RoomParty}), and the platform parts each
 * entry passes to the one shared assembly ({@link RoomPlatform}: `room.ts` for browsers,
 * `room.node.ts` for Node).
 * @module
 */
import type { NextTurn } from '../channel/next-turn.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import type { Identity } from '../identity.ts'
import type { Party } from '../party.ts'
import type { Roster } from '../roster.ts'
import type { GrantStore } from '../session/grants.ts'
import type { Limits } from '../session/limits.ts'
import type { OutboxStore } from '../session/outbox.ts'
import type { SessionHost } from '../session/types.ts'
import type { SignalingClient, SignalingClientOptions } from '../signaling/client-types.ts'
import type { HybridTransportOptions } from '../transport/hybrid.ts'
import type { IceServersOption } from '../transport/ice-servers.ts'
import type { RelayTransportOptions } from '../transport/relay.ts'
import type { SimplePeerConstructor } from '../transport/simple-peer-types.ts'
import type { Transport } from '../transport/types.ts'
import type { WebRtcTransportOptions } from '../transport/webrtc.ts'
import type { WorkerSessionHost } from '../worker/proxy.ts'
import type {
  RestoredSession,
  WorkerGrantStoreConfig,
  WorkerHostConfig,
  WorkerOutboxConfig,
} from '../worker/types.ts'
import type { PathHintSource } from './path-hints.ts'

/** How links are made. */
export type RoomTransport = 'webrtc' | 'relay' | 'hybrid'

/** Where the session host (signing, verification, channels, inboxes) runs. */
export type RoomHost = 'worker' | 'in-thread'

/**
 * The signaling server(s): a URL, or the client's options with `url` and/or `urls` (servers of
 * one cluster, tried in turn) and its tuning (`ackTimeoutMs`, `reconnect`, `transports`, `io`).
 */
export type RoomSignaling =
  | string
  | (Omit<SignalingClientOptions, 'url' | 'urls' | 'publicKey' | 'sign' | 'label'> & {
      url?: string
      urls?: readonly string[]
    })

/**
 * Advanced: parts and tuning of the webrtc path, for tests and benchmarks. The platform's
 * simple-peer and RTCPeerConnection are the defaults.
 */
export type RoomWebRtcOptions = Partial<
  Pick<
    WebRtcTransportOptions,
    'wrtc' | 'candidateFilter' | 'connectTimeoutMs' | 'backoff' | 'maxAttempts' | 'disconnectGraceMs'
  > & { SimplePeer: SimplePeerConstructor }
>

/** Options of `joinRoom` and `createRoomParty`, on every platform. */
export interface RoomOptions {
  /** The signaling server(s). */
  signaling: RoomSignaling
  /** The room whose parties this party links to. */
  room: string
  /** This party's key, or an identity (`generateIdentity`) holding it. */
  identity: SigningKey | Identity
  /**
   * Trust anchor (`parseRoster`): only its parties are accepted (by the session host), they are
   * retried forever (by the transport), and the party is not `open`. @default none: open mode
   */
  roster?: Roster | undefined
  /**
   * `webrtc` (direct links only), `relay` (every frame through the signaling server, still end
   * to end encrypted), or `hybrid` (webrtc, the relay while no direct link can be had).
   * @default 'webrtc'
   */
  transport?: RoomTransport
  /**
   * ICE servers: a list (checked by `checkIceServers`), or a function called for each new
   * connection attempt to a peer, on both ends, that may be async: time-limited TURN
   * credentials (`turnRestCredentials`) are then minted per attempt, so a link lost after they
   * expired is made again with fresh ones. A function that throws, rejects or gives a bad list
   * fails that attempt with `ICE_SERVERS_UNAVAILABLE` (retried with backoff; with `hybrid`, the
   * relay is used meanwhile). Ignored by `transport: 'relay'`.
   * @default [] — no STUN/TURN server, never a public one
   */
  iceServers?: IceServersOption
  /** `'relay'` to use TURN relays only. @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Display label sent at registration (at most 64 characters). */
  label?: string | undefined
  /** Session host limits (DESIGN "Defaults"). */
  limits?: Partial<Limits>
  /** Service mode every peer must share. @default 'conclave' */
  mode?: string
  /** @default 'worker' (a Web Worker in browsers, a worker_threads Worker in Node) */
  host?: RoomHost
  /**
   * The outbox store (a restarted party resumes its streams and sessions): a name the platform
   * opens (browsers: an IndexedDB database; Node: a file path), opened by the session host
   * wherever it runs; or a store object, which needs `host: 'in-thread'` (an object cannot
   * cross into a Worker). @default none
   */
  outbox?: string | OutboxStore | undefined
  /**
   * The spent-grant store: a file path (Node only), opened by the session host wherever it runs;
   * or a store object, which needs `host: 'in-thread'`. @default in memory
   */
  grantStore?: string | GrantStore | undefined
  /**
   * The crypto backend. @default the platform's backend of the kind that made the identity's key
   * (WebCrypto keys: WebCrypto, in Node with node:crypto's AEAD; noble keys: noble)
   */
  crypto?: CryptoBackend
  /**
   * The next turn of the in-thread host (Node: `setImmediate`). @default the platform's
   */
  nextTurn?: NextTurn
  /** Advanced: simple-peer, wrtc, candidate filter and dial tuning of the webrtc path. */
  webrtc?: RoomWebRtcOptions
  /** Advanced: tuning of the relay path (pacing, backoff, open timeout). */
  relay?: Omit<RelayTransportOptions, 'signaling' | 'room' | 'autoConnect' | 'acceptFrom' | 'persistentPeers'>
  /** Advanced: tuning of the hybrid transport (fallback delay, switch grace, upgrade retries). */
  hybrid?: Pick<HybridTransportOptions, 'fallbackAfterMs' | 'switchGraceMs' | 'upgradeRetryMs'>
  /** Cancels joining (creating the host, registering, joining the room). */
  signal?: AbortSignal
}

/** A party in a room and the parts it is made of. */
export interface RoomParty {
  /** The party: sessions, proposals, peers, events, counters. */
  readonly party: Party
  /** Its signaling client (state and `error` events, presence). */
  readonly signaling: SignalingClient
  /** Its transport (a `HybridTransport` with `transport: 'hybrid'`). */
  readonly transport: Transport
  /** Where its session host runs. */
  readonly hostKind: RoomHost
  /** Its session host (the Worker's main-thread side with `hostKind: 'worker'`). */
  readonly host: SessionHost
  /**
   * The sessions the outbox store held open when the Worker host started (see
   * `WorkerSessionHost.restored`); empty without a store and with the in-thread host.
   */
  restored(): RestoredSession[]
  /**
   * Register with the signaling server, join the room, link to its parties. Subscribe to events
   * first. A failed start stops everything (the party cannot be started again).
   * @throws what registration or joining throws (`ABORTED`, a signaling code …)
   */
  start(options?: { signal?: AbortSignal }): Promise<void>
  /**
   * Stop the party, its transport and its signaling client, and end the Worker (resolves once
   * it is gone). Idempotent.
   */
  stop(): Promise<void>
}

/** A store given by name: what the Worker's config says, and how the in-thread host opens it. */
export interface NamedStore<C, S> {
  /** The description the Worker entry opens (`{ indexedDb: name }`, `{ file: path }`). */
  worker(name: string): C
  /** Open it on this thread. */
  open(name: string): S | Promise<S>
}

/**
 * The platform parts of the assembly (the seam `room.ts` and `room.node.ts` fill in). `O` is
 * the platform's options type (its Worker override).
 */
export interface RoomPlatform<O extends RoomOptions> {
  /** The backend for a key made by `backend`. */
  crypto(backend: CryptoBackend['name']): CryptoBackend | Promise<CryptoBackend>
  /**
   * simple-peer and the RTCPeerConnection implementation (`wrtc`, none in browsers): those
   * `given`, the platform's for the others, loaded only when a webrtc path is asked for.
   * @throws ConclaveError `WEBRTC_UNAVAILABLE` when the platform has no WebRTC
   */
  rtc(given: RoomWebRtcOptions): Promise<{ SimplePeer: SimplePeerConstructor; wrtc?: unknown }>
  /** Start a session host in a Worker. */
  workerHost(config: WorkerHostConfig, options: O): Promise<WorkerSessionHost>
  /** An outbox store given by name. */
  outbox: NamedStore<WorkerOutboxConfig, OutboxStore>
  /** A grant store given by name (absent: a name is refused). */
  grantStore?: NamedStore<WorkerGrantStoreConfig, GrantStore>
  /** What a named store is on this platform, for error messages. */
  storeNames: { outbox: string; grantStore: string }
  /** The in-thread host's next turn. @default a MessageChannel turn */
  nextTurn?: NextTurn
  /**
   * The platform's path hints for these options (`path-hints.ts`), followed while the party is
   * started, or undefined for none. @throws ConclaveError `INVALID_ARGUMENT` for a bad option
   */
  pathHints?(options: O): PathHintSource | undefined
}
