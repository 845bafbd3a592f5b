/// <reference path="./simplepeer-bundle.d.ts" />
/**
 * The front door for browsers: {@link joinRoom} and {@link createRoomParty} on the browser's
 * parts — simple-peer's prebuilt bundle over the browser's RTCPeerConnection, the session host
 * in a module Web Worker that this package creates itself (`worker/browser-entry`), WebCrypto
 * (or noble where the browser lacks Ed25519/X25519), and IndexedDB for a named outbox store.
 * While the party is started, the page's lifecycle (`online`, `pageshow` from the back/forward
 * cache, `resume`, back to `visible`) gives its transport path hints (`page-lifecycle.ts`).
 * Nothing is loaded or started at import time. (`@conclave/core/node` has the same functions
 * on Node's parts.)
 * @module
 */

import { createNobleBackend } from '../crypto/noble.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { createWebCryptoBackend, hasWebCryptoCurves } from '../crypto/webcrypto.ts'
import { ConclaveError } from '../errors.ts'
import { openIndexedDbOutboxStore } from '../session/outbox-store.idb.ts'
import type { SimplePeerConstructor } from '../transport/simple-peer-types.ts'
import { createBrowserWorkerSessionHost } from '../worker/browser.ts'
import { createRoomPartyOn, joinRoomOn } from './join.ts'
import { globalLifecycleTargets, type PageLifecycleTargets, watchPageLifecycle } from './page-lifecycle.ts'
import type { PathHintSource } from './path-hints.ts'
import type { RoomOptions, RoomParty, RoomPlatform } from './types.ts'

/** Options of the browser's {@link joinRoom} and {@link createRoomParty}. */
export interface JoinRoomOptions extends RoomOptions {
  /**
   * Advanced: make the session host's Worker (a module Worker whose script imports
   * `@conclave/core/worker`). @default this package's own Worker entry
   */
  worker?: () => Worker
  /**
   * Where the page's lifecycle events come from (`online`, `pageshow`, `resume`,
   * `visibilitychange`), or `false` to not follow them: after each, peers without a link that
   * wait out a backoff are dialled at once, so that a backgrounded, frozen or restored tab
   * rejoins without a reload. @default the global scope (`window` and its `document`)
   */
  pageLifecycle?: PageLifecycleTargets | false
}

/**
 * The page's lifecycle as a source of path hints, unless turned off.
 * @throws ConclaveError `INVALID_ARGUMENT` when `pageLifecycle` is neither `false` nor targets
 */
function pageLifecycle(option: JoinRoomOptions['pageLifecycle']): PathHintSource | undefined {
  if (option === false) return undefined
  if (option === undefined) {
    const targets = globalLifecycleTargets()
    return targets ? watchPageLifecycle(targets) : undefined
  }
  const win = (option as { window?: { addEventListener?: unknown } } | null)?.window
  if (typeof win?.addEventListener !== 'function') {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"pageLifecycle" expected false or { window, document? } event targets, got ${option === null ? 'null' : typeof option}`,
    )
  }
  return watchPageLifecycle(option)
}

/**
 * The session host Worker of this package. The `new Worker(new URL(…, import.meta.url))` form,
 * with a literal path, is what bundlers (Vite, webpack, Rollup plugins) recognise and bundle; the
 * `.js` path is the compiled entry beside this file in `dist/`, and Vite maps it to the `.ts`
 * source when the package runs from source.
 */
function packageWorker(): Worker {
  return new Worker(new URL('../worker/browser-entry.js', import.meta.url), {
    type: 'module',
    name: 'conclave',
  })
}

async function loadSimplePeer(): Promise<SimplePeerConstructor> {
  let mod: { default?: unknown }
  try {
    // the prebuilt bundle: the raw package needs Node's built-ins
    mod = await import('simple-peer/simplepeer.min.js')
  } catch (e) {
    throw new ConclaveError(
      'WEBRTC_UNAVAILABLE',
      `simple-peer's browser bundle could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
      {},
      { cause: e },
    )
  }
  // A bundler turns the UMD bundle into a module with a default export. Served as it is (Vite's
  // dev server does so when @conclave/core is excluded from pre-bundling), it runs without a
  // module system and sets `SimplePeer` on the global object instead, as a UMD bundle does.
  const SimplePeer = mod.default ?? (globalThis as { SimplePeer?: unknown }).SimplePeer
  if (typeof SimplePeer !== 'function') {
    throw new ConclaveError(
      'WEBRTC_UNAVAILABLE',
      "simple-peer's browser bundle loaded without its constructor (how did the bundler transform simple-peer/simplepeer.min.js?)",
    )
  }
  return SimplePeer as SimplePeerConstructor
}

/** The browser's platform parts. */
const browser: RoomPlatform<JoinRoomOptions> = {
  crypto: (backend) => (backend === 'webcrypto' ? createWebCryptoBackend() : createNobleBackend()),
  async rtc(given) {
    if (given.SimplePeer === undefined && typeof RTCPeerConnection === 'undefined') {
      throw new ConclaveError('WEBRTC_UNAVAILABLE', 'this browser has no RTCPeerConnection')
    }
    return {
      SimplePeer: given.SimplePeer ?? (await loadSimplePeer()),
      ...(given.wrtc !== undefined ? { wrtc: given.wrtc } : {}),
    }
  },
  workerHost: (config, options) =>
    createBrowserWorkerSessionHost((options.worker ?? packageWorker)(), config),
  outbox: {
    worker: (name) => ({ indexedDb: name }),
    open: (name) => openIndexedDbOutboxStore(name),
  },
  storeNames: { outbox: 'IndexedDB database name', grantStore: 'file path (Node only)' },
  pathHints: (options) => pageLifecycle(options.pageLifecycle),
}

/**
 * The best crypto backend of this browser: WebCrypto Ed25519/X25519 where it has them, noble
 * otherwise. Use it to make or import the identity that {@link joinRoom} is given.
 * @example
 * ```ts
 * const identity = await generateIdentity(await createPlatformCrypto())
 * ```
 */
export async function createPlatformCrypto(): Promise<CryptoBackend> {
  return (await hasWebCryptoCurves()) ? createWebCryptoBackend() : createNobleBackend()
}

/**
 * Build a party in a room without starting it: subscribe to its events, then `start()`.
 * The session host starts here (in its Worker, with its outbox store); nothing connects yet.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad option (naming it), `ABORTED`,
 *   `WEBRTC_UNAVAILABLE`, or what the session host's start throws (`OUTBOX_UNAVAILABLE`,
 *   `OUTBOX_CORRUPT`, `CRYPTO_UNAVAILABLE`)
 * @example
 * ```ts
 * const room = await createRoomParty({ signaling: 'https://signal.example', room: 'r1', identity })
 * room.party.on('proposal', (ev) => … )
 * await room.start()
 * ```
 */
export function createRoomParty(options: JoinRoomOptions): Promise<RoomParty> {
  return createRoomPartyOn(browser, options)
}

/**
 * Join a room as a party: the session host in a Web Worker, the signaling client registered,
 * links to the room's parties over WebRTC (no STUN/TURN server unless `iceServers` names one).
 * A failure leaves nothing running.
 *
 * @throws what {@link createRoomParty} throws, and what registering or joining throws
 * @example
 * ```ts
 * const identity = await generateIdentity(await createPlatformCrypto())
 * const { party, stop } = await joinRoom({ signaling: 'https://signal.example', room: 'r1', identity })
 * party.on('proposal', (ev) => party.join(ev.proposal.sessionId))
 * ```
 */
export function joinRoom(options: JoinRoomOptions): Promise<RoomParty> {
  return joinRoomOn(browser, options)
}
