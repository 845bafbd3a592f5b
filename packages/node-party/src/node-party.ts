/**
 * A Conclave party for Node: WebCrypto identity, the webrtc transport on @roamhq/wrtc and
 * simple-peer, the signaling client. Used by the CLI, the demo and the benchmarks.
 * @module
 */
import { createRequire } from 'node:module'
import {
  type CryptoBackend,
  createHybridTransport,
  createParty,
  createRelayTransport,
  createSignalingClient,
  createWebRtcTransport,
  type Limits,
  loopbackOnly,
  type OutboxStore,
  type Party,
  type Roster,
  type SignalingClient,
  type SigningKey,
  type SimplePeerConstructor,
  type Transport,
} from '@conclave/core'
import {
  createFileGrantStore,
  createNodeWorkerSessionHost,
  setImmediateTurn,
  toWorkerHostConfig,
} from '@conclave/core/node'

const require = createRequire(import.meta.url)

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
  /** @default [] (no STUN/TURN server) */
  iceServers?: RTCIceServer[]
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

/** A started Node party and its parts. */
export interface NodeParty {
  party: Party
  signaling: SignalingClient
  transport: Transport
  stop(): Promise<void>
}

/** The wrtc module (its RTCPeerConnection and friends), loaded once. */
export function loadWrtc(): unknown {
  return require('@roamhq/wrtc')
}

/** simple-peer's constructor. */
export function loadSimplePeer(): SimplePeerConstructor {
  return require('simple-peer') as SimplePeerConstructor
}

/** Start a party: register with the signaling server, join the room, link to its parties. */
export async function startNodeParty(
  o: NodePartyOptions,
  options: { signal?: AbortSignal } = {},
): Promise<NodeParty> {
  const signaling = createSignalingClient({
    url: o.signal,
    ...(o.signalUrls?.length ? { urls: o.signalUrls } : {}),
    publicKey: o.identity.publicKey,
    sign: (bytes) => o.crypto.ed25519.sign(o.identity, bytes),
    ...(o.label !== undefined ? { label: o.label } : {}),
  })
  const persistent = o.roster ? { persistentPeers: new Set(o.roster.parties.keys()) } : {}
  const rtc = {
    SimplePeer: loadSimplePeer(),
    wrtc: loadWrtc(),
    iceServers: o.iceServers ?? [],
    ...(o.iceTransportPolicy ? { iceTransportPolicy: o.iceTransportPolicy } : {}),
    ...(o.loopbackOnly ? { candidateFilter: loopbackOnly } : {}),
    ...persistent,
  }
  const mode = o.transport ?? 'webrtc'
  const transport =
    mode === 'relay'
      ? createRelayTransport({ signaling, room: o.room, ...persistent })
      : mode === 'hybrid'
        ? createHybridTransport({ signaling, room: o.room, webrtc: rtc })
        : createWebRtcTransport({ signaling, room: o.room, ...rtc })
  const host =
    o.inThread || o.outbox
      ? undefined
      : await createNodeWorkerSessionHost(
          toWorkerHostConfig({
            crypto: o.crypto,
            identity: o.identity,
            ...(o.roster ? { roster: o.roster } : {}),
            ...(o.limits ? { limits: o.limits } : {}),
            ...(o.mode ? { mode: o.mode } : {}),
            ...(o.grantStoreFile ? { grantStore: { file: o.grantStoreFile } } : {}),
          }),
        )
  const party = createParty({
    identity: o.identity,
    crypto: o.crypto,
    transport,
    ...(host ? { host } : {}),
    ...(o.roster ? { roster: o.roster } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.mode ? { mode: o.mode } : {}),
    ...(o.outbox ? { outbox: o.outbox } : {}),
    ...(!host && o.grantStoreFile ? { grantStore: createFileGrantStore(o.grantStoreFile) } : {}),
    nextTurn: setImmediateTurn,
  })
  // registration resolves once the server answers; socket.io keeps retrying until then
  const started = signaling.start(options)
  await party.start(options)
  await started
  return {
    party,
    signaling,
    transport,
    async stop() {
      await party.stop()
      signaling.stop()
    },
  }
}
