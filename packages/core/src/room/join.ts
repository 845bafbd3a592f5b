/**
 * The one assembly of a party in a room, shared by every platform: options checked, the crypto
 * backend, the session host (a Worker by default, or in-thread), the signaling client, the
 * transport (webrtc, relay or hybrid) and the party on top. The platform parts (simple-peer and
 * the RTCPeerConnection, the Worker, the crypto backend, named stores) come from a
 * {@link RoomPlatform} that each entry passes in (`room.ts` for browsers, `room.node.ts` for
 * Node). The roster is read here once and handed to each part that needs it.
 * @module
 */
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import { createParty } from '../party.ts'
import type { Roster } from '../roster.ts'
import { createInThreadSessionHost } from '../session/host.ts'
import type { SessionHostConfig } from '../session/host-config.ts'
import type { SessionHost } from '../session/types.ts'
import { createSignalingClient } from '../signaling/client.ts'
import type { SignalingClient } from '../signaling/client-types.ts'
import { createHybridTransport } from '../transport/hybrid.ts'
import { createRelayTransport } from '../transport/relay.ts'
import type { Transport } from '../transport/types.ts'
import { createWebRtcTransport } from '../transport/webrtc.ts'
import { rosterHostConfig, toWorkerHostConfig } from '../worker/config.ts'
import type { WorkerSessionHost } from '../worker/proxy.ts'
import { type CheckedRoomOptions, checkRoomOptions, throwIfAborted } from './check.ts'
import { withPathHints } from './path-hints.ts'
import type { NamedStore, RoomHost, RoomOptions, RoomParty, RoomPlatform } from './types.ts'

/** What the roster settles, in one place: the host's trust fields, the transport's persistent peers. */
interface Trust {
  host: Pick<SessionHostConfig, 'roster' | 'grantIssuers'>
  persistentPeers: ReadonlySet<PartyId> | undefined
  roster: Roster | undefined
}

function trustOf(roster: Roster | undefined): Trust {
  if (!roster) return { host: {}, persistentPeers: undefined, roster: undefined }
  return { host: rosterHostConfig(roster), persistentPeers: new Set(roster.parties.keys()), roster }
}

interface StartedHost {
  kind: RoomHost
  host: SessionHost
  worker: WorkerSessionHost | undefined
}

async function startHost<O extends RoomOptions>(
  platform: RoomPlatform<O>,
  o: O,
  checked: CheckedRoomOptions,
  crypto: CryptoBackend,
  trust: Trust,
): Promise<StartedHost> {
  const fields = {
    identity: checked.key,
    ...trust.host,
    ...(o.mode !== undefined ? { mode: o.mode } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
  }
  // checkRoomOptions has refused a store object beside the Worker host
  if (checked.host === 'worker') {
    const worker = await platform.workerHost(
      toWorkerHostConfig({
        crypto,
        ...fields,
        ...(typeof o.outbox === 'string' ? { outbox: platform.outbox.worker(o.outbox) } : {}),
        ...(typeof o.grantStore === 'string'
          ? { grantStore: namedStore(platform.grantStore, 'grantStore').worker(o.grantStore) }
          : {}),
      }),
      o,
    )
    return { kind: 'worker', host: worker, worker }
  }
  const outbox = typeof o.outbox === 'string' ? await platform.outbox.open(o.outbox) : o.outbox
  try {
    const grantStore =
      typeof o.grantStore === 'string'
        ? await namedStore(platform.grantStore, 'grantStore').open(o.grantStore)
        : o.grantStore
    const nextTurn = o.nextTurn ?? platform.nextTurn
    const host = createInThreadSessionHost({
      crypto,
      ...fields,
      ...(outbox ? { outbox } : {}),
      ...(grantStore ? { grantStore } : {}),
      ...(nextTurn ? { nextTurn } : {}),
    })
    return { kind: 'in-thread', host, worker: undefined }
  } catch (e) {
    // a store opened here by name is ours to close
    if (typeof o.outbox === 'string') outbox?.close()
    throw e
  }
}

/** The platform's way to open a store by name (checkRoomOptions refused a name it has none for). */
function namedStore<C, S>(store: NamedStore<C, S> | undefined, field: string): NamedStore<C, S> {
  if (!store) throw new ConclaveError('INVALID_ARGUMENT', `"${field}" cannot be a name on this platform`)
  return store
}

async function createTransport<O extends RoomOptions>(
  platform: RoomPlatform<O>,
  o: O,
  checked: CheckedRoomOptions,
  signaling: SignalingClient,
  trust: Trust,
): Promise<Transport> {
  const persistent = trust.persistentPeers ? { persistentPeers: trust.persistentPeers } : {}
  if (checked.transport === 'relay') {
    return createRelayTransport({ ...o.relay, signaling, room: o.room, ...persistent })
  }
  const { SimplePeer: _sp, wrtc: _wrtc, ...tuning } = o.webrtc ?? {}
  const { SimplePeer, wrtc } = await platform.rtc(o.webrtc ?? {})
  const webrtc = {
    ...tuning,
    SimplePeer,
    ...(wrtc !== undefined ? { wrtc } : {}),
    iceServers: o.iceServers ?? [],
    ...(o.iceTransportPolicy ? { iceTransportPolicy: o.iceTransportPolicy } : {}),
  }
  if (checked.transport === 'hybrid') {
    return createHybridTransport({
      ...o.hybrid,
      signaling,
      room: o.room,
      webrtc,
      ...(o.relay ? { relay: o.relay } : {}),
      ...persistent,
    })
  }
  return createWebRtcTransport({ ...webrtc, signaling, room: o.room, ...persistent })
}

/**
 * Build a party in a room on `platform`, not started (see {@link RoomParty.start}). The entries'
 * `createRoomParty` and `joinRoom` are this with their platform.
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad option, `ABORTED`, `WEBRTC_UNAVAILABLE`, or
 *   what the session host's start throws (`OUTBOX_UNAVAILABLE`, `CRYPTO_UNAVAILABLE` …)
 * @example
 * ```ts
 * // room.node.ts
 * export const createRoomParty = (options: NodeJoinRoomOptions) => createRoomPartyOn(node, options)
 * ```
 */
export async function createRoomPartyOn<O extends RoomOptions>(
  platform: RoomPlatform<O>,
  o: O,
): Promise<RoomParty> {
  const checked = checkRoomOptions(o, platform)
  const hints = platform.pathHints?.(o)
  const key: SigningKey = checked.key
  const crypto = o.crypto ?? (await platform.crypto(key.backend))
  const trust = trustOf(o.roster)
  const signaling = createSignalingClient({
    ...checked.signaling,
    publicKey: key.publicKey,
    sign: (bytes) => crypto.ed25519.sign(key, bytes),
    ...(o.label !== undefined ? { label: o.label } : {}),
  })
  // the transport first (it may load WebRTC and fail): nothing runs yet that would need stopping
  const transport = await createTransport(platform, o, checked, signaling, trust)
  throwIfAborted(o.signal)
  const started = await startHost(platform, o, checked, crypto, trust)
  if (o.signal?.aborted) {
    await stopHost(started)
    throwIfAborted(o.signal)
  }
  try {
    const party = createParty({
      identity: key,
      crypto,
      transport,
      host: started.host,
    })
    return withPathHints(roomParty(party, signaling, transport, started, o.signal), hints)
  } catch (e) {
    await stopHost(started)
    throw e
  }
}

async function stopHost(started: StartedHost): Promise<void> {
  started.host.stop()
  await started.worker?.closed
}

function roomParty(
  party: RoomParty['party'],
  signaling: SignalingClient,
  transport: Transport,
  started: StartedHost,
  joinSignal: AbortSignal | undefined,
): RoomParty {
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await party.stop()
      } finally {
        // a party never started has not stopped its host nor its transport
        await transport.stop()
        signaling.stop()
        await stopHost(started)
      }
    })()
    return stopping
  }
  return {
    party,
    signaling,
    transport,
    hostKind: started.kind,
    host: started.host,
    restored: () => started.worker?.restored() ?? [],
    async start(options = {}) {
      if (stopping) throw new ConclaveError('NOT_STARTED', 'this room party was stopped')
      const signal = options.signal ?? joinSignal
      const opts = signal ? { signal } : {}
      try {
        throwIfAborted(signal)
        // registration resolves once the server answers; socket.io keeps retrying until then
        // (a fatal refusal, e.g. BAD_SIGNATURE, ends both at once)
        await Promise.all([signaling.start(opts), party.start(opts)])
      } catch (e) {
        await stop()
        throw e
      }
    },
    stop,
  }
}

/**
 * Build a party in a room on `platform` and start it. The entries' `joinRoom` is this with
 * their platform.
 * @throws what {@link createRoomPartyOn} and {@link RoomParty.start} throw; nothing is left running
 * @example
 * ```ts
 * // room.ts
 * export const joinRoom = (options: JoinRoomOptions) => joinRoomOn(browser, options)
 * ```
 */
export async function joinRoomOn<O extends RoomOptions>(platform: RoomPlatform<O>, o: O): Promise<RoomParty> {
  const room = await createRoomPartyOn(platform, o)
  await room.start()
  return room
}
