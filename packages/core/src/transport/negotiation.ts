/**
 * The webrtc negotiation rules (DESIGN "Connections") as pure functions: which end offers,
 * the link id, how attempts are numbered, and what to do with an incoming signal. No timers,
 * no simple-peer: `webrtc.ts` carries out the verdict.
 *
 * - One link per pair: the smaller PartyId (byte order) offers; the other sends
 *   `connect-request` when it wants a link.
 * - `linkId` is `smaller[0..16]:larger[0..16]`; signals of another link id are ignored.
 * - Attempts are the offerer's clock in ms (at least the previous + 1), so a restarted
 *   offerer's attempts are still newer; signals of an older attempt are dropped.
 * - Each transport start draws a random instance id (CSPRNG). A `connect-request` from the
 *   instance we are linked with that has not seen our current attempt crossed our offer and is
 *   ignored; from a new instance (a restarted peer) it gets a new link at once.
 * @module
 */
import type { PartyId } from '../ids.ts'
import type { SignalData } from '../signaling/protocol.ts'
import type { SimplePeerSignal } from './simple-peer-types.ts'

/** An attempt younger than this is left to finish when the peer asks for a link. */
export const YOUNG_ATTEMPT_MS = 2000
/** Least time between two `connect-request`s to one peer. */
export const REQUEST_INTERVAL_MS = 200

/**
 * What travels in `SignalData.payload`: simple-peer's signal, and the sender's transport
 * instance (random per start), so the offerer can tell a restarted peer's `connect-request`
 * from a stale one sent before the current link was up.
 */
export interface SignalEnvelope {
  instance: string
  /** simple-peer signal (offer, answer, candidate, renegotiate). */
  sp?: SimplePeerSignal
  /** connect-request: the attempt the requester last accepted (0: none). */
  seen?: number
}

/** True when `local` offers to `peer` (the smaller PartyId offers). */
export function offers(local: PartyId, peer: PartyId): boolean {
  return local < peer
}

/** The link id of the pair: `smaller[0..16]:larger[0..16]`. */
export function linkIdOf(a: PartyId, b: PartyId): string {
  return a < b ? `${a.slice(0, 16)}:${b.slice(0, 16)}` : `${b.slice(0, 16)}:${a.slice(0, 16)}`
}

/** The offerer's next attempt: its clock in ms, and always newer than `previous`. */
export function nextAttempt(previous: number, now: number): number {
  return Math.max(now, previous + 1)
}

/** A fresh transport instance id: 16 random bytes (CSPRNG) as hex. */
export function newInstanceId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return hex
}

/** The signal kind of a simple-peer signal. */
export function signalKind(data: SimplePeerSignal): SignalData['kind'] {
  if (data.type === 'offer') return 'offer'
  if (data.type === 'answer') return 'answer'
  if (data.candidate) return 'candidate'
  return 'renegotiate'
}

/** What the receiving end knows of its negotiation with one peer. */
export interface NegotiationView {
  local: PartyId
  peer: PartyId
  /** The current attempt (0: none yet). */
  attempt: number
  /** An open link exists. */
  linked: boolean
  /** A simple-peer of the current attempt exists and is not destroyed. */
  underWay: boolean
  /** The peer's instance on the current attempt (from its answer). */
  peerInstance: string | undefined
  /** The clock, in ms. */
  now: number
}

/** What to do with an incoming signal. */
export type SignalVerdict =
  /** Drop it. */
  | { action: 'ignore'; why: string }
  /** A connect-request that needs a new link: drop the current attempt or link, offer anew. */
  | { action: 'reoffer' }
  /** Feed its simple-peer signal to the current attempt (`peerInstance`: the peer's, learnt). */
  | { action: 'feed'; peerInstance?: string }
  /** A newer offer: drop the current attempt or link, answer as attempt `attempt`, then feed. */
  | { action: 'answer'; attempt: number }

/**
 * The verdict on signal `data` from the view's peer, whose payload is `payload` (untrusted).
 * @example
 * ```ts
 * judgeSignal({ local, peer, attempt: 0, linked: false, underWay: false, peerInstance: undefined, now },
 *   { linkId: linkIdOf(local, peer), attempt: 5, kind: 'offer', payload }) // { action: 'answer', attempt: 5 }
 * ```
 */
export function judgeSignal(view: NegotiationView, data: SignalData): SignalVerdict {
  if (data.linkId !== linkIdOf(view.local, view.peer)) return { action: 'ignore', why: 'another link' }
  const env = envelopeOf(data.payload)
  const offerer = offers(view.local, view.peer)
  if (data.kind === 'connect-request') {
    if (!offerer) return { action: 'ignore', why: 'the offerer does not request' }
    if (view.linked) {
      // The peer asks only when it has no link. A request from the instance we linked with
      // that has not seen our current attempt crossed our offer: ignore it. Otherwise the link
      // is dead on its side (it lost it, or restarted as a new instance).
      const sameInstance = env.instance !== undefined && env.instance === view.peerInstance
      if (sameInstance && (env.seen ?? 0) < view.attempt)
        return { action: 'ignore', why: 'crossed our offer' }
    } else if (view.underWay && view.now - view.attempt < YOUNG_ATTEMPT_MS) {
      return { action: 'ignore', why: 'an attempt under way is left to finish' }
    }
    return { action: 'reoffer' }
  }
  if (offerer) {
    // answers and candidates of our current attempt only
    if (data.attempt !== view.attempt || !view.underWay) return { action: 'ignore', why: 'not our attempt' }
    return env.instance === undefined ? { action: 'feed' } : { action: 'feed', peerInstance: env.instance }
  }
  if (data.attempt < view.attempt) return { action: 'ignore', why: 'an older attempt' }
  if (data.attempt > view.attempt) {
    if (data.kind !== 'offer') return { action: 'ignore', why: 'signals of an offer not seen' }
    return { action: 'answer', attempt: data.attempt }
  }
  return view.underWay ? { action: 'feed' } : { action: 'ignore', why: 'no attempt under way' }
}

/** The fields of a signal payload, those of the wrong type left out. */
export function envelopeOf(payload: unknown): { instance?: string; sp?: SimplePeerSignal; seen?: number } {
  if (!payload || typeof payload !== 'object') return {}
  const p = payload as Partial<Record<keyof SignalEnvelope, unknown>>
  return {
    ...(typeof p.instance === 'string' ? { instance: p.instance } : {}),
    ...(p.sp && typeof p.sp === 'object' ? { sp: p.sp as SimplePeerSignal } : {}),
    ...(typeof p.seen === 'number' ? { seen: p.seen } : {}),
  }
}
