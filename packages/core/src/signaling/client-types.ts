/**
 * The signaling client seam (types only): what the connection manager and the WebRTC transport
 * need from a signaling client. `createSignalingClient` in `client.ts` implements it.
 * @module
 */
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client'
import type { SignalingError } from './error.ts'
import type {
  PresenceEntry,
  PresenceEvent,
  RelayEvent,
  SignalData,
  SignalEvent,
  SignalingLimits,
} from './protocol.ts'

/** Where the client is: no socket, connected and registering, or registered. */
export type SignalingClientState = 'disconnected' | 'registering' | 'registered'

/** The `io` factory of socket.io-client (injectable for tests and custom transports). */
export type IoFactory = (uri: string, options: Partial<ManagerOptions & SocketOptions>) => Socket

/** Options of `createSignalingClient`. */
export interface SignalingClientOptions {
  /** The server's URL, e.g. `http://127.0.0.1:8787`. Its origin must match the challenge's. */
  url: string
  /**
   * More servers of the same network (instances of a signaling cluster), tried in turn after
   * `url` whenever the current one cannot be reached; each challenge must name the origin of the
   * URL it came from. @default [] (only `url`)
   */
  urls?: string[]
  /** The party's 32-byte Ed25519 public key; the PartyId is its hex. */
  publicKey: Uint8Array
  /** Signs the registration bytes with the identity key (64-byte Ed25519 signature). */
  sign: (bytes: Uint8Array) => Promise<Uint8Array>
  /** Display label sent at registration (metadata, at most 64 characters). */
  label?: string
  /** The socket.io-client `io` factory. @default the real one */
  io?: IoFactory
  /** socket.io transports. @default ['websocket'] (works behind a non-sticky balancer) */
  transports?: ('websocket' | 'polling' | 'webtransport')[]
  /** How long to wait for the server to acknowledge an operation. @default 10000 */
  ackTimeoutMs?: number
  /** Heartbeat period while registered. @default a third of the server's heartbeat timeout, else 20000 */
  heartbeatIntervalMs?: number
  /** Reconnect backoff (socket.io's). @default { initialDelayMs: 250, maxDelayMs: 10000, jitter: 0.5 } */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; jitter?: number }
}

/** What {@link SignalingClient.on} can subscribe to, and what each listener gets. */
export interface SignalingClientEvents {
  /** The server accepted the registration (after every (re)connect). */
  registered: { partyId: string; limits: SignalingLimits | undefined }
  /** The server confirmed membership of a room (on `join()` and on each re-join after a reconnect). */
  joined: { room: string; peers: PresenceEntry[] }
  presence: PresenceEvent
  signal: SignalEvent
  relay: RelayEvent & { frame: Uint8Array }
  /** A refusal from the server, a refused challenge, or an invalid payload from the server. */
  error: SignalingError
  state: SignalingClientState
}

/** Cancels an operation. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** A signaling client (see `createSignalingClient`). */
export interface SignalingClient {
  /** Current state; every change is also an `on('state')` event. */
  readonly state: SignalingClientState
  /** This party's id (hex of its public key). */
  readonly partyId: string
  /** The limits the server announced in its last challenge. */
  readonly limits: SignalingLimits | undefined
  /** The rooms the client is in and restores after a reconnect. */
  readonly rooms: readonly string[]
  /**
   * Connect (and keep reconnecting). Resolves once registered.
   * @throws SignalingError when the registration is refused (`BAD_SIGNATURE`, `ORIGIN_MISMATCH`,
   * `VERSION_MISMATCH` …: the client then stops), `ABORTED`, or `STOPPED` if `stop()` came first.
   */
  start(options?: AbortOptions): Promise<void>
  /** Disconnect, forget the rooms, and fail pending operations with `STOPPED`. */
  stop(): void
  /** Resolves when registered (at once if already). @throws SignalingError `ABORTED`, `STOPPED` */
  ready(options?: AbortOptions): Promise<void>
  /**
   * Join a room (waiting for registration first); the client re-joins it after reconnects.
   * Resolves with the other parties in the room.
   * @throws SignalingError `TOO_MANY_ROOMS`, `ROOM_FULL`, `ABORTED`, `STOPPED`, `TIMEOUT` …
   */
  join(room: string, options?: AbortOptions): Promise<PresenceEntry[]>
  /** Leave a room (no-op when not in it). */
  leave(room: string, options?: AbortOptions): Promise<void>
  /**
   * Send signal data to a party in the same room; the server stamps `from`.
   * @throws ConclaveError `INVALID_ARGUMENT` for a bad room or addressee; SignalingError
   * `BAD_PAYLOAD` / `PAYLOAD_TOO_LARGE` for data the server would refuse, and the server's
   * refusals: `NOT_IN_ROOM`, `PEER_NOT_IN_ROOM`, `RATE_LIMITED`, also `DISCONNECTED`, `TIMEOUT` …
   */
  signal(room: string, to: string, data: SignalData, options?: AbortOptions): Promise<void>
  /**
   * Send one opaque frame through the server to a party in the same room. Fire and forget:
   * returns false when not registered; refusals come as `error` events with `event: 'relay'`.
   * @throws SignalingError `PAYLOAD_TOO_LARGE` over the server's announced limit (as `signal()`);
   *   ConclaveError `INVALID_ARGUMENT` for a bad room, addressee or frame
   */
  relay(room: string, to: string, frame: Uint8Array | ArrayBuffer): boolean
  /** Report health in [0, 1]; sent now and with every periodic heartbeat. */
  heartbeat(health?: number): void
  /** Subscribe; returns the unsubscribe function. */
  on<K extends keyof SignalingClientEvents>(
    event: K,
    listener: (value: SignalingClientEvents[K]) => void,
  ): () => void
}
