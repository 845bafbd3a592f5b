/**
 * The front door for Node: {@link joinRoom} and {@link createRoomParty} on Node's parts —
 * simple-peer over @roamhq/wrtc (an optional peer dependency, loaded only when a webrtc or
 * hybrid transport is asked for), the session host in a worker_threads Worker, node:crypto
 * (`createNodeCrypto`), files for named outbox and grant stores, `setImmediate` turns. While
 * the party is started, each change of the machine's addresses gives its transport a path hint
 * (`network-watch.node.ts`). Nothing is loaded or started at import time. (`@conclave/core`
 * has the same functions on a browser's parts.)
 * @module
 */
import { createRequire } from 'node:module'
import { setImmediateTurn } from '../channel/next-turn.node.ts'
import { createNobleBackend } from '../crypto/noble.ts'
import { createNodeCrypto } from '../crypto/node-crypto.node.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import { createFileGrantStore } from '../session/grant-store.node.ts'
import { createFileOutboxStore } from '../session/outbox-store.node.ts'
import type { SimplePeerConstructor } from '../transport/simple-peer-types.ts'
import { createNodeWorkerSessionHost, type NodeWorkerSessionHostOptions } from '../worker/node.ts'
import { createRoomPartyOn, joinRoomOn } from './join.ts'
import { checkNetworkPollMs, NETWORK_POLL_MS, watchNodeNetwork } from './network-watch.node.ts'
import type { RoomOptions, RoomParty, RoomPlatform } from './types.ts'

/** Options of Node's {@link joinRoom} and {@link createRoomParty}. */
export interface NodeJoinRoomOptions extends RoomOptions {
  /** Advanced: the session host Worker's entry, resource limits and stop timeout. */
  worker?: NodeWorkerSessionHostOptions
  /**
   * How often the machine's addresses are read (ms, an integer from 100), or `false` to not
   * watch them: when they change, a link whose local address went away while another came is
   * replaced at once, and peers waiting out a backoff are dialled now (Node has no
   * network-change event). @default 1000
   */
  networkPollMs?: number | false
}

/**
 * Node's crypto backend for a new identity: {@link createNodeCrypto}.
 * @example
 * ```ts
 * const identity = await generateIdentity(await createPlatformCrypto())
 * ```
 */
export async function createPlatformCrypto(): Promise<CryptoBackend> {
  return createNodeCrypto()
}

const WRTC = '@roamhq/wrtc'

/** `require` of this package (simple-peer, and the optional @roamhq/wrtc). */
function requireHere(id: string): unknown {
  return createRequire(import.meta.url)(id)
}

/**
 * `@roamhq/wrtc` (`RTCPeerConnection` and friends for simple-peer), loaded now.
 * @throws ConclaveError `WEBRTC_UNAVAILABLE` when it is not installed (or does not load)
 * @example
 * ```ts
 * const transport = createWebRtcTransport({ signaling, room, SimplePeer: loadNodeSimplePeer(), wrtc: loadWrtc() })
 * ```
 */
export function loadWrtc(): unknown {
  try {
    return requireHere(WRTC)
  } catch (e) {
    const missing = (e as { code?: unknown })?.code === 'MODULE_NOT_FOUND'
    throw new ConclaveError(
      'WEBRTC_UNAVAILABLE',
      missing
        ? `WebRTC in Node needs the optional peer dependency ${WRTC}: install it (npm install ${WRTC}), or use transport: 'relay'`
        : `${WRTC} did not load: ${e instanceof Error ? e.message : String(e)}`,
      {},
      { cause: e },
    )
  }
}

/**
 * simple-peer's constructor (the package itself: Node has its built-ins).
 * @example
 * ```ts
 * const SimplePeer = loadNodeSimplePeer()
 * ```
 */
export function loadNodeSimplePeer(): SimplePeerConstructor {
  return requireHere('simple-peer') as SimplePeerConstructor
}

/** Node's platform parts. */
const node: RoomPlatform<NodeJoinRoomOptions> = {
  crypto: (backend) => (backend === 'webcrypto' ? createNodeCrypto() : createNobleBackend()),
  async rtc(given) {
    const wrtc = given.wrtc ?? loadWrtc()
    return { SimplePeer: given.SimplePeer ?? loadNodeSimplePeer(), wrtc }
  },
  workerHost: (config, options) => createNodeWorkerSessionHost(config, options.worker ?? {}),
  outbox: {
    worker: (file) => ({ file }),
    open: (file) => createFileOutboxStore(file),
  },
  grantStore: {
    worker: (file) => ({ file }),
    open: (file) => createFileGrantStore(file),
  },
  storeNames: { outbox: 'file path', grantStore: 'file path' },
  nextTurn: setImmediateTurn,
  pathHints: ({ networkPollMs }) => {
    checkNetworkPollMs(networkPollMs)
    return networkPollMs === false ? undefined : watchNodeNetwork(networkPollMs ?? NETWORK_POLL_MS)
  },
}

/**
 * Build a party in a room without starting it: subscribe to its events, then `start()`.
 * The session host starts here (in its Worker, with its stores); nothing connects yet.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad option (naming it), `ABORTED`,
 *   `WEBRTC_UNAVAILABLE` (no @roamhq/wrtc), or what the session host's start throws
 *   (`OUTBOX_UNAVAILABLE`, `OUTBOX_CORRUPT` …)
 * @example
 * ```ts
 * const room = await createRoomParty({ signaling: 'http://127.0.0.1:8787', room: 'r1', identity })
 * room.signaling.on('state', (s) => console.log('signaling', s))
 * await room.start()
 * ```
 */
export function createRoomParty(options: NodeJoinRoomOptions): Promise<RoomParty> {
  return createRoomPartyOn(node, options)
}

/**
 * Join a room as a party: the session host in a worker_threads Worker, the signaling client
 * registered, links to the room's parties over WebRTC (@roamhq/wrtc; no STUN/TURN server unless
 * `iceServers` names one), or through the relay. A failure leaves nothing running; `stop()`
 * leaves no handle open.
 *
 * @throws what {@link createRoomParty} throws, and what registering or joining throws
 * @example
 * ```ts
 * const identity = await generateIdentity(createNodeCrypto())
 * const room = await joinRoom({ signaling: 'http://127.0.0.1:8787', room: 'r1', identity })
 * const session = await room.party.propose({ protocol: 'secure-sum', participants })
 * await room.stop()
 * ```
 */
export function joinRoom(options: NodeJoinRoomOptions): Promise<RoomParty> {
  return joinRoomOn(node, options)
}
