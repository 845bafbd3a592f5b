/**
 * The signaling protocol, typed once and shared by server and client (socket.io typed events).
 * The server still validates every payload at run time (see `validate.ts`).
 *
 * Flow: connect → server emits `challenge` → client emits `register` (signature in the
 * registration context over the server's origin) → only then `join`, `signal`, `relay`.
 * @module
 */
import type { SIGNALING_ERROR_CODES } from '../errors.ts'

/** Signaling protocol versions this code speaks. */
export const SIGNALING_VERSIONS = [1] as const

/** Error codes the server sends in `error` events and acks (listed in `SIGNALING_ERROR_CODES`). */
export type SignalingErrorCode = (typeof SIGNALING_ERROR_CODES)[number]

/** `{ ok: true, … } | { ok: false, code, message }` acknowledgement. */
export type Ack<T extends object = object> =
  | ({ ok: true } & T)
  | { ok: false; code: SignalingErrorCode; message: string }

/** `challenge` (server → client, first event after connecting): what the registration must sign. */
export interface ChallengeMessage {
  /** 32 random bytes, hex. */
  challenge: string
  /** The origin the signature must name, e.g. `http://127.0.0.1:8787`. */
  origin: string
  versions: number[]
  /** The limits this server enforces, so clients can size frames and heartbeats. */
  limits?: SignalingLimits
}

/** Limits a server announces in its challenge. */
export interface SignalingLimits {
  /** Largest relay frame, and largest JSON-encoded `signal` data, in bytes. */
  maxPayloadBytes: number
  /** Sustained events per second per socket (token bucket). */
  eventsPerSecond: number
  roomsPerSocket: number
  partiesPerRoom: number
  /** A registered socket silent for this long is cut; heartbeat well within it. */
  heartbeatTimeoutMs: number
}

/** `register` (client → server): the party proves its key by signing the challenge. */
export interface RegisterRequest {
  /** PartyId (hex of the Ed25519 public key). */
  partyId: string
  /** Hex Ed25519 signature over `registrationSignedBytes(origin, challenge, partyId)`. */
  signature: string
  version: number
  /** Display label (metadata only, at most 64 chars). */
  label?: string
}

/** One party as the registry sees it. */
export interface PresenceEntry {
  partyId: string
  label?: string
  /** ms since epoch. */
  lastSeen: number
  /** Health in [0, 1] as last reported by the party's heartbeat. */
  health?: number
}

/** `join` / `leave` (client → server): a room to enter or leave, after registration. */
export interface JoinRequest {
  room: string
}

/** `presence` (server → client): a party joined or left a room this client is in. */
export interface PresenceEvent {
  room: string
  event: 'joined' | 'left'
  party: PresenceEntry
}

/** What a `signal` carries between two parties (opaque to the server beyond its shape). */
export interface SignalData {
  /** Identifies the link between the two parties (e.g. `${smaller}:${larger}`). */
  linkId: string
  /** Attempt number; signals of an older attempt are dropped by the receiver. */
  attempt: number
  kind: 'offer' | 'answer' | 'candidate' | 'renegotiate' | 'connect-request'
  /** simple-peer signal object, JSON-serialisable; absent for `connect-request`. */
  payload?: unknown
}

/** `signal` (client → server): WebRTC signalling for one party of a shared room. */
export interface SignalRequest {
  room: string
  to: string
  data: SignalData
}

/** `signal` (server → client): signalling from a party of a shared room, sender stamped by the server. */
export interface SignalEvent {
  room: string
  /** Stamped by the server: the registered PartyId of the sender. */
  from: string
  data: SignalData
}

/** `relay` (client → server): one encrypted frame for a party of a shared room (relay transport). */
export interface RelayRequest {
  room: string
  to: string
  /** One opaque (already encrypted) frame. */
  frame: Uint8Array | ArrayBuffer
}

/** `relay` (server → client): one encrypted frame from a party of a shared room, sender stamped. */
export interface RelayEvent {
  room: string
  from: string
  frame: ArrayBuffer | Uint8Array
}

/** `heartbeat` (client → server): keeps the registration alive, with the party's health. */
export interface HeartbeatRequest {
  health?: number
}

/** `error` (server → client): a refused event or a protocol violation, with a stable code. */
export interface ServerErrorEvent {
  code: SignalingErrorCode
  message: string
  /** The client event that was refused, when the error answers one (e.g. `relay`). */
  event?: string
  /** Room and addressee of the refused `signal` / `relay`, when known. */
  room?: string
  to?: string
}

/** Events the server emits. */
export interface ServerToClientEvents {
  /** First event after connecting: what `register` must sign. */
  challenge: (msg: ChallengeMessage) => void
  /** A party joined or left a room this client is in. */
  presence: (msg: PresenceEvent) => void
  /** WebRTC signalling from a party of a shared room. */
  signal: (msg: SignalEvent) => void
  /** An encrypted frame relayed from a party of a shared room. */
  relay: (msg: RelayEvent) => void
  /** A refused event or a protocol violation. */
  error: (msg: ServerErrorEvent) => void
}

/** Events the client emits. */
export interface ClientToServerEvents {
  /** Prove the party's key; answered with its PartyId or a code. Nothing else is served before it. */
  register: (req: RegisterRequest, ack: (res: Ack<{ partyId: string }>) => void) => void
  /** Enter a room; answered with the parties already in it. */
  join: (req: JoinRequest, ack: (res: Ack<{ peers: PresenceEntry[] }>) => void) => void
  /** Leave a room. */
  leave: (req: JoinRequest, ack: (res: Ack) => void) => void
  /** WebRTC signalling for a party of a shared room (acknowledged). */
  signal: (req: SignalRequest, ack: (res: Ack) => void) => void
  /** An encrypted frame for a party of a shared room (not acknowledged; refusals come as `error`). */
  relay: (req: RelayRequest) => void
  /** Keep the registration alive (see `SignalingLimits.heartbeatTimeoutMs`). */
  heartbeat: (req: HeartbeatRequest) => void
}
