/**
 * A Conclave party for Node with the CLI's options: a thin mapping onto `joinRoom` of
 * `@conclave/core/node` (which assembles it: the session host in its Worker, the signaling
 * client, the webrtc, relay or hybrid transport on @roamhq/wrtc). Used by the CLI and tests.
 * @module
 */
import type {
  CryptoBackend,
  IceServersOption,
  Limits,
  OutboxStore,
  RoomParty,
  Roster,
  SigningKey,
} from '@conclave/core'
import { joinRoom } from '@conclave/core/node'
import { loopbackOnly } from '@conclave/core/transport'

export { loadNodeSimplePeer as loadSimplePeer, loadWrtc } from '@conclave/core/node'

/** Options of {@link startNodeParty}. */
export interface NodePartyOptions {
  crypto: CryptoBackend
  identity: SigningKey
  /** Signaling server URL. */
  signal: string
  /** More signaling servers of the same network (a cluster), tried in turn when one is unreachable. */
  signalUrls?: string[]
  room: string
  roster?: Roster | undefined
  label?: string | undefined
  /**
   * ICE servers: a list, or a function asked for every connection attempt (see `joinRoom`).
   * @default [] (no STUN/TURN server)
   */
  iceServers?: IceServersOption
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Keep only loopback ICE candidates. */
  loopbackOnly?: boolean
  /**
   * `webrtc` (direct links only), `relay` (every frame through the signaling server, still
   * end-to-end encrypted), or `hybrid` (webrtc, falling back to the relay while no direct link
   * can be had). @default 'webrtc'
   */
  transport?: 'webrtc' | 'relay' | 'hybrid'
  limits?: Partial<Limits>
  mode?: string
  /**
   * Run the session host (signing, verification, AEAD, inboxes) on this thread instead of a
   * worker_threads Worker. @default false: the Worker, the same path browsers take
   */
  inThread?: boolean
  /**
   * Outbox store (e.g. `createFileOutboxStore(path)` from `@conclave/core/node`): a party
   * restarted with the same key and store resumes its streams and sessions. The host then runs
   * in-thread (the store is a synchronous object that does not cross into the Worker).
   * @default none
   */
  outbox?: OutboxStore
  /**
   * The file of the spent-grant store (`createFileGrantStore`): a grant used once stays spent
   * across restarts. @default none: spent grants are kept in memory only
   */
  grantStoreFile?: string
}

/** A started Node party and its parts (`joinRoom`'s room party). */
export type NodeParty = RoomParty

/**
 * Start a party: register with the signaling server, join the room, link to its parties.
 * @throws what `joinRoom` throws (`INVALID_ARGUMENT`, `ABORTED`, `WEBRTC_UNAVAILABLE` …)
 * @example
 * ```ts
 * const node = await startNodeParty({ crypto, identity: key, signal: 'http://127.0.0.1:8787', room: 'r1' })
 * await node.stop()
 * ```
 */
export function startNodeParty(
  o: NodePartyOptions,
  options: { signal?: AbortSignal } = {},
): Promise<NodeParty> {
  return joinRoom({
    crypto: o.crypto,
    identity: o.identity,
    signaling: { url: o.signal, ...(o.signalUrls?.length ? { urls: o.signalUrls } : {}) },
    room: o.room,
    roster: o.roster,
    label: o.label,
    ...(o.iceServers ? { iceServers: o.iceServers } : {}),
    ...(o.iceTransportPolicy ? { iceTransportPolicy: o.iceTransportPolicy } : {}),
    ...(o.loopbackOnly ? { webrtc: { candidateFilter: loopbackOnly } } : {}),
    ...(o.transport ? { transport: o.transport } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.mode !== undefined ? { mode: o.mode } : {}),
    // a store object stays on this thread: the host runs here with it
    host: o.inThread || o.outbox ? 'in-thread' : 'worker',
    outbox: o.outbox,
    grantStore: o.grantStoreFile,
    ...(options.signal ? { signal: options.signal } : {}),
  })
}
