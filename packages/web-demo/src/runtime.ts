/**
 * The demo page's party: `createRoomParty` of `@conclave/core` (the session host in the
 * package's own Web Worker with this identity's outbox store in IndexedDB, simple-peer's bundle
 * over the browser's RTCPeerConnection, no STUN/TURN server unless `?ice=` names one), and the
 * page's one policy on top: a damaged or unreachable outbox store must not lock the identity
 * out, so the party then runs without one and says so.
 * @module
 */
import {
  type ConclaveError,
  type CryptoBackend,
  createPlatformCrypto,
  createRoomParty,
  errorCode,
  type RoomParty,
  type Roster,
  type SigningKey,
} from '@conclave/core'

/** The crypto backend of this browser: WebCrypto Ed25519/X25519 where it exists, noble otherwise. */
export const pickCrypto: () => Promise<CryptoBackend> = createPlatformCrypto

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

/** A party in the room, and how its outbox store fared. */
export interface Runtime extends RoomParty {
  /**
   * The outbox store in use: `'indexeddb'`, `'off'`, or `'failed'` when it could not be opened
   * (the party then runs without one; `outboxError` says why).
   */
  outbox: 'indexeddb' | 'off' | 'failed'
  outboxError?: ConclaveError
}

/**
 * Build the party (nothing connects until `start()`, so that the page can subscribe to every
 * event first).
 * @throws what the Worker's start throws (e.g. `CRYPTO_UNAVAILABLE`), with its code
 */
export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const create = (outbox: string | undefined): Promise<RoomParty> =>
    createRoomParty({
      signaling: o.signal,
      room: o.room,
      identity: o.identity,
      crypto: o.crypto,
      label: o.label,
      roster: o.roster,
      iceServers: o.iceServers ?? [],
      ...(o.iceRelayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
      outbox,
    })
  try {
    return Object.assign(await create(o.outbox), {
      outbox: o.outbox ? ('indexeddb' as const) : ('off' as const),
    })
  } catch (e) {
    const code = errorCode(e)
    if (!o.outbox || (code !== 'OUTBOX_UNAVAILABLE' && code !== 'OUTBOX_CORRUPT')) throw e
    // a damaged or unreachable store must not lock this identity out: run without it, and say so
    return Object.assign(await create(undefined), {
      outbox: 'failed' as const,
      outboxError: e as ConclaveError,
    })
  }
}
