/**
 * The browser seam of a Conclave party, put together once: the crypto backend, the session host
 * in a Web Worker, the signaling client, the webrtc transport (simple-peer's prebuilt bundle over
 * the browser's RTCPeerConnection, no STUN/TURN server), and the party on top.
 * @module
 */
import {
  type CryptoBackend,
  createBrowserWorkerSessionHost,
  createNobleBackend,
  createParty,
  createSignalingClient,
  createWebCryptoBackend,
  createWebRtcTransport,
  hasWebCryptoCurves,
  type Party,
  type Roster,
  type SignalingClient,
  type SigningKey,
  toWorkerHostConfig,
  type WorkerSessionHost,
} from '@conclave/core'
import SimplePeer from 'simple-peer/simplepeer.min.js'

/** The crypto backend of this browser: WebCrypto Ed25519/X25519 where it exists, noble otherwise. */
export async function pickCrypto(): Promise<CryptoBackend> {
  return (await hasWebCryptoCurves()) ? createWebCryptoBackend() : createNobleBackend()
}

/** What {@link createRuntime} takes. */
export interface RuntimeOptions {
  crypto: CryptoBackend
  identity: SigningKey
  label: string
  room: string
  signal: string
  /** Trust anchor: only its parties are accepted, and retried forever. Without it: open mode. */
  roster?: Roster | undefined
  /** ICE servers from the page's settings (`?ice=`). @default [] */
  iceServers?: RTCIceServer[]
  /** TURN relays only (`?iceRelay=1`). */
  iceRelayOnly?: boolean
}

/** A party and the parts the page talks to directly. */
export interface Runtime {
  party: Party
  signaling: SignalingClient
  host: WorkerSessionHost
  /** Register with the signaling server, join the room, link to its parties. */
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Build the party (nothing connects until `start()`, so that the page can subscribe to every
 * event first).
 * @throws what the Worker's start throws (e.g. `CRYPTO_UNAVAILABLE`), with its code
 */
export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'conclave' })
  const host = await createBrowserWorkerSessionHost(
    worker,
    toWorkerHostConfig({ crypto: o.crypto, identity: o.identity, ...(o.roster ? { roster: o.roster } : {}) }),
  )
  const signaling = createSignalingClient({
    url: o.signal,
    publicKey: o.identity.publicKey,
    sign: (bytes) => o.crypto.ed25519.sign(o.identity, bytes),
    label: o.label,
  })
  const transport = createWebRtcTransport({
    signaling,
    room: o.room,
    SimplePeer,
    iceServers: o.iceServers ?? [],
    ...(o.iceRelayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
    ...(o.roster ? { persistentPeers: new Set(o.roster.parties.keys()) } : {}),
  })
  const party = createParty({
    identity: o.identity,
    crypto: o.crypto,
    transport,
    host,
    ...(o.roster ? { roster: o.roster } : {}),
  })
  return {
    party,
    signaling,
    host,
    async start() {
      // registration resolves once the server answers; socket.io keeps retrying until then
      const registered = signaling.start()
      registered.catch(() => undefined) // reported through the client's `error` event
      await party.start()
      await registered
    },
    async stop() {
      await party.stop()
      signaling.stop()
    },
  }
}
