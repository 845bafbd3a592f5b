/**
 * The browser seam of a Conclave party, put together once: the crypto backend, the session host
 * in a Web Worker (with the identity's outbox store in IndexedDB, opened by the Worker), the
 * signaling client, the webrtc transport (simple-peer's prebuilt bundle over the browser's
 * RTCPeerConnection, no STUN/TURN server), and the party on top.
 * @module
 */
import {
  type ConclaveError,
  type CryptoBackend,
  createBrowserWorkerSessionHost,
  createNobleBackend,
  createParty,
  createSignalingClient,
  createWebCryptoBackend,
  createWebRtcTransport,
  errorCode,
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
  /**
   * The IndexedDB database of this identity's outbox store (`outboxDatabase(partyId)`): the
   * session host keeps its epoch, delivery streams and open sessions there across reloads.
   * @default none (`?outbox=0`)
   */
  outbox?: string | undefined
}

/** A party and the parts the page talks to directly. */
export interface Runtime {
  party: Party
  signaling: SignalingClient
  host: WorkerSessionHost
  /**
   * The outbox store in use: `'indexeddb'`, `'off'`, or `'failed'` when it could not be opened
   * (the party then runs without one; `outboxError` says why).
   */
  outbox: 'indexeddb' | 'off' | 'failed'
  outboxError?: ConclaveError
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
  const start = (outbox: string | undefined): Promise<WorkerSessionHost> =>
    createBrowserWorkerSessionHost(
      new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'conclave' }),
      toWorkerHostConfig({
        crypto: o.crypto,
        identity: o.identity,
        ...(o.roster ? { roster: o.roster } : {}),
        ...(outbox ? { outbox: { indexedDb: outbox } } : {}),
      }),
    )
  let host: WorkerSessionHost
  let outbox: Runtime['outbox'] = o.outbox ? 'indexeddb' : 'off'
  let outboxError: ConclaveError | undefined
  try {
    host = await start(o.outbox)
  } catch (e) {
    const code = errorCode(e)
    if (!o.outbox || (code !== 'OUTBOX_UNAVAILABLE' && code !== 'OUTBOX_CORRUPT')) throw e
    // a damaged or unreachable store must not lock this identity out: run without it, and say so
    outbox = 'failed'
    outboxError = e as ConclaveError
    host = await start(undefined)
  }
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
    outbox,
    ...(outboxError ? { outboxError } : {}),
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
