/**
 * The bench's Conclave party: a fresh identity (`prepare`), up in a room (`up`: `createRoomParty`
 * with the bench's tracked simple-peer, until every peer is ready), down again (`down`), its
 * sessions, and the FROST key share it holds between `frost-dkg` and `frost-sign`.
 * @module
 */
import {
  createNodeCrypto,
  createRoomParty,
  generateIdentity,
  type Identity,
  type Party,
  type PartyId,
  parsePartyId,
  parseSessionId,
  type RoomParty,
  type Session,
} from '@conclave/core/node'
import type { SignalingClient } from '@conclave/core/signaling'
import { loopbackOnly } from '@conclave/core/transport'
import type { FrostKeyShare } from '@conclave/protocols'
import { type Command, emit, now, num, str } from '../child-io.ts'
import { closeAllPeers, TrackedSimplePeer, wrtc } from './wrtc-peers.ts'

/**
 * An abort signal that fires after `ms` unless cleared. A plain timer and controller: a signal
 * from `AbortSignal.timeout()` that only `AbortSignal.any()` refers to can be garbage-collected
 * before it fires (Node keeps weak references to the sources of `any`).
 */
export function timeLimit(ms: number, also?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error(`time limit of ${ms} ms`)), ms)
  const onAlso = (): void => controller.abort(also?.reason)
  also?.addEventListener('abort', onAlso, { once: true })
  if (also?.aborted) onAlso()
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      also?.removeEventListener('abort', onAlso)
    },
  }
}

/** `CODE: message` of a ConclaveError, the message of any other error. */
export function describeError(e: unknown): string {
  const code = (e as { code?: unknown })?.code
  const message = e instanceof Error ? e.message : String(e)
  return typeof code === 'string' ? `${code}: ${message}` : message
}

/** CPU time of this whole process (every thread: wrtc's, libuv's pool) in µs since `since`. */
export function cpuSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return d.user + d.system
}

/** Frames sent and received so far on webrtc links. */
export function frames(): { sent: number; received: number } {
  const t = party?.counters().byTransport.webrtc
  return { sent: t?.framesSent ?? 0, received: t?.framesReceived ?? 0 }
}

/** The party's crypto backend: WebCrypto keys, node:crypto's Ed25519, SHA-256 and ChaCha20-Poly1305. */
export const crypto = createNodeCrypto()
/** `BENCH_TRACE=1`: party events on stderr (the orchestrator shows them with `BENCH_VERBOSE=1`). */
export const TRACE = process.env.BENCH_TRACE === '1'
/**
 * This party's identity (`prepare`); while up, its room party (`joinRoom`'s parts), the party
 * and signaling client of it; its open sessions.
 */
export let identity: Identity | undefined
export let inRoom: RoomParty | undefined
export let party: Party | undefined
export let signaling: SignalingClient | undefined
export const sessions = new Map<string, Session>()
/** This party's share of the last FROST key generated (`frost-dkg`), for `frost-sign`. */
export let frostKey: FrostKeyShare | undefined
/** Units dropped by this party since `up`, by code. */
export const drops = new Map<string, number>()

/** {@link drops} as a plain object, for a report. */
export function dropCounts(): Record<string, number> {
  return Object.fromEntries(drops)
}

/** Erase the FROST key share held, if any. */
export function forgetFrostKey(): void {
  frostKey?.secretShare.wipe()
  frostKey = undefined
}

/** `prepare`: a fresh identity (and no FROST key share) → `prepared { id }`. */
export async function prepare(): Promise<void> {
  forgetFrostKey()
  identity = await generateIdentity(crypto)
  emit('prepared', { id: identity.id })
}

/** `up { url, room, peers, timeoutMs }`: into the room until every peer is ready → `up { ok, t0, … }`. */
export async function up(c: Command): Promise<void> {
  if (!identity) throw new Error('prepare first')
  if (party) throw new Error('already up')
  const id = identity
  const url = str(c, 'url')
  const roomName = str(c, 'room')
  const want = (c.peers as string[]).map((p) => parsePartyId(p))
  const timeoutMs = num(c, 'timeoutMs', 15_000)
  drops.clear()
  const t0 = now()
  let tRegistered = Number.NaN
  let tFirstReady = Number.NaN
  // in-thread host as before (the bench's numbers include the host's work on this thread)
  const room = await createRoomParty({
    signaling: url,
    room: roomName,
    identity: id,
    crypto,
    host: 'in-thread',
    webrtc: { SimplePeer: TrackedSimplePeer, wrtc, candidateFilter: loopbackOnly },
  })
  inRoom = room
  signaling = room.signaling
  party = room.party
  signaling.on('registered', () => {
    if (Number.isNaN(tRegistered)) tRegistered = now()
  })
  party.on('drop', (ev) => drops.set(ev.code, (drops.get(ev.code) ?? 0) + 1))
  party.on('peer', (ev) => {
    if (ev.state === 'ready' && Number.isNaN(tFirstReady)) tFirstReady = now()
  })
  if (TRACE) {
    const label = id.id.slice(0, 6)
    party.on('event', (ev) => {
      if (ev.type === 'message') return
      const { type, ...rest } = ev
      const fields = Object.entries(rest).map(
        ([k, v]) => `${k}=${typeof v === 'string' && v.length === 64 ? v.slice(0, 6) : JSON.stringify(v)}`,
      )
      process.stderr.write(`${(now() - t0).toFixed(1)} ms ${label} ${type} ${fields.join(' ')}\n`)
    })
  }
  const p = party
  try {
    await room.start({ signal: AbortSignal.timeout(timeoutMs) })
    const left = Math.max(1, timeoutMs - (now() - t0))
    // The room's auto-connect makes the links. `waitForPeers` would also call `connect()` for a
    // peer that has not joined the room yet: that offer is refused by the server and the attempt
    // then waits for its 15 s connect timeout (see README), so it is opt-in here.
    if (c.waitForPeers === true) await p.waitForPeers(want, { timeoutMs: left })
    else await untilReady(p, want, left)
  } catch (e) {
    emit('up', {
      ok: false,
      error: e instanceof Error ? e.message : String(e),
      t0,
      tRegistered,
      ready: party.peers().length,
    })
    return
  }
  const tReady = now()
  emit('up', { ok: true, t0, tRegistered, tFirstReady, tReady, peers: party.peers().length })
}

/** Resolve when every one of `want` is a ready peer of `p` (party events only, no `connect()`). */
export function untilReady(p: Party, want: readonly PartyId[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const missing = (): PartyId[] => {
      const ready = new Set(p.peers().map((x) => x.peer))
      return want.filter((w) => !ready.has(w))
    }
    const done = (e?: Error): void => {
      off()
      clearTimeout(timer)
      if (e) reject(e)
      else resolve()
    }
    const check = (): void => {
      if (missing().length === 0) done()
    }
    const off = p.on('peer', check)
    const timer = setTimeout(
      () => done(new Error(`peers not ready after ${timeoutMs} ms: ${missing().length} of ${want.length}`)),
      timeoutMs,
    )
    check()
  })
}

/** `down`: close the sessions, stop the room party (party, transport, signaling), close every peer → `down`. */
export async function down(): Promise<void> {
  forgetFrostKey()
  for (const s of sessions.values()) s.close()
  sessions.clear()
  const room = inRoom
  inRoom = undefined
  party = undefined
  signaling = undefined
  try {
    await room?.stop()
  } catch {
    // stopping anyway
  }
  closeAllPeers()
  emit('down')
}

/** `session { sid, participants }`: open a session → `session`. */
export function openSession(c: Command): void {
  if (!party) throw new Error('not up')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = (c.participants as string[]).map((p) => parsePartyId(p))
  sessions.set(sid, party.session({ id: sid, participants, roundTimeoutMs: 600_000 }))
  emit('session', { sid })
}

/**
 * The open session `sid` of a command.
 * @throws Error when there is none
 */
export function session(c: Command): Session {
  const s = sessions.get(str(c, 'sid'))
  if (!s) throw new Error('no such session')
  return s
}

/** Keep `key` as the FROST key share (replacing, and wiping, any earlier one). */
export function keepFrostKey(key: FrostKeyShare): void {
  forgetFrostKey()
  frostKey = key
}
