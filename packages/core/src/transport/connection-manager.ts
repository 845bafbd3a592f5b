/**
 * The connection manager of DESIGN ("The parts", "Connections"): the per-peer dial state that
 * every path shares — whether a link is wanted, attempts and their backoff, the peers retried
 * forever (the roster), and the room's presence. A path (webrtc, relay) supplies a
 * {@link DialPath}: how to make its per-peer record, whether an attempt or a link is under way,
 * how to start one attempt, how to drop one, and what a peer leaving the room means for it.
 * The path calls back with what became of an attempt ({@link ConnectionManager.retry},
 * {@link ConnectionManager.closed}); the manager decides whether, when and how often to try again.
 *
 * The rules, once for every path:
 * - a failed attempt is retried with exponential backoff and jitter, at most `maxAttempts`
 *   times in a row for a peer not in `persistentPeers`;
 * - an attempt that ended because the peer is not in the room yet does not count against
 *   `maxAttempts`: its safety retries back off on their own count, and the peer's presence
 *   (`joined`) starts the next attempt at once, with a fresh count;
 * - `connect()` after giving up (or after the peer was released) starts a fresh count;
 * - the count also restarts when a link proves itself, which the path decides: on webrtc when
 *   the party's handshake on it completes (`Link.markReady`), not when its channel opens (a
 *   link through a man in the middle opens, then fails its handshake: a failed attempt); on
 *   the relay when it stayed up for a while;
 * - a link closed to be re-keyed (`REKEY_DUE`) is no failure: it is dialled again at once;
 * - a link whose path was lost (`PATH_LOST`: its connection failed, stayed disconnected, or its
 *   address went away) is a failure like any other: retried with backoff at once, not after
 *   the keepalive's silence;
 * - a platform's hint that the network changed or the page came back ({@link retryNow}) cuts
 *   every pending backoff short: the peer is dialled now, its count kept.
 * @module
 */
import { type BackoffOptions, backoffDelay } from '../backoff.ts'
import type { ErrorCode } from '../errors.ts'
import { Emitter } from '../events.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { SignalingClient } from '../signaling/client-types.ts'
import type { LinkState, LinkStateEvent } from './types.ts'

/** How a path retries: the options every transport with a dialer takes. */
export interface DialPolicy {
  /** Backoff between attempts. @default 250 ms doubling to 10 s, jitter 0.5 */
  backoff?: BackoffOptions
  /** Failed attempts in a row before giving up on a peer not in `persistentPeers`. @default 10 */
  maxAttempts?: number
  /** Peers retried forever (the roster). */
  persistentPeers?: Pick<ReadonlySet<PartyId>, 'has'>
}

/** The manager's part of a path's per-peer record (the path adds its own fields). */
export interface DialRecord {
  readonly peer: PartyId
  /** A link to this peer is wanted: lost links and failed attempts are retried. */
  wanted: boolean
  /** The path's attempt number, reported in state events. */
  attempt: number
  /** Failed attempts in a row (reset by the path when a link proves itself). */
  failures: number
  /** Attempts ended because the peer was not in the room: they pace the safety retries only. */
  waits: number
  retryTimer: ReturnType<typeof setTimeout> | undefined
}

/** The manager's fields of a fresh record for `peer`. */
function dialRecord(peer: PartyId): DialRecord {
  return { peer, wanted: false, attempt: 0, failures: 0, waits: 0, retryTimer: undefined }
}

/** What a path supplies to the manager (trystero's strategy seam). */
export interface DialPath<R extends DialRecord> {
  /** The path's fields of a new record for `peer` (the manager adds its own). */
  create(peer: PartyId): Omit<R, keyof DialRecord>
  /** True while an attempt is under way or a link is up: a want then starts nothing. */
  busy(r: R): boolean
  /** Start one attempt (the peer is wanted, nothing is under way). */
  dial(r: R): void
  /** Drop the attempt under way, if any (the manager gave up on the peer). */
  abandon(r: R): void
  /** The peer left the room. */
  left(r: R): void
}

/** Settings of a {@link ConnectionManager}. */
export interface ConnectionManagerOptions extends DialPolicy {
  /** Want every party of the room. @default true */
  autoConnect?: boolean
  /** Whether the transport runs (nothing is dialled or retried otherwise). */
  running: () => boolean
  /** This party's id, once started. */
  local: () => PartyId | undefined
}

/** The per-peer dial state machine one path of a transport runs on. */
export class ConnectionManager<R extends DialRecord> {
  private readonly records = new Map<PartyId, R>()
  private readonly states = new Emitter<{ state: LinkStateEvent }>()

  constructor(
    private readonly path: DialPath<R>,
    private readonly o: ConnectionManagerOptions,
  ) {}

  /** The record of `peer`, made on first use. */
  record(peer: PartyId): R {
    let r = this.records.get(peer)
    if (!r) {
      // the path's fields and the manager's make one record per peer
      r = { ...this.path.create(peer), ...dialRecord(peer) } as R
      this.records.set(peer, r)
    }
    return r
  }

  /** The record of `peer`, if it has one. */
  get(peer: PartyId): R | undefined {
    return this.records.get(peer)
  }

  /** Every record. */
  all(): IterableIterator<R> {
    return this.records.values()
  }

  /** Forget every peer (the transport stopped): pending retries are cancelled. */
  clear(): void {
    for (const r of this.records.values()) cancelRetry(r)
    this.records.clear()
  }

  /** Subscribe to state changes. */
  onState(handler: (event: LinkStateEvent) => void): () => void {
    return this.states.on('state', handler)
  }

  /** Report a state of `r`. */
  emit(r: R, state: LinkState, extra: Partial<LinkStateEvent> = {}): void {
    this.states.emit('state', { peer: r.peer, state, attempt: r.attempt, ...extra })
  }

  /**
   * A link to `peer` is wanted: start an attempt unless one is under way or a link is up, or a
   * retry is pending (`now`: start at once anyway, cancelling it).
   */
  want(peer: PartyId, now = false): void {
    if (!this.o.running() || peer === this.o.local()) return
    const r = this.record(peer)
    r.wanted = true
    if (this.path.busy(r)) return
    if (r.retryTimer && !now) return
    cancelRetry(r)
    this.path.dial(r)
  }

  /** The application asks for `peer`: as {@link want}, with a fresh count if it was not wanted. */
  connect(peer: PartyId, now: boolean): void {
    const r = this.record(peer)
    if (!r.wanted) {
      r.failures = 0
      r.waits = 0
    }
    this.want(peer, now)
  }

  /** Cancel the retry pending for `r`, if any (it stays wanted). */
  cancelRetry(r: R): void {
    cancelRetry(r)
  }

  /**
   * The network changed or the page came back (a platform's `PathHint`): every wanted peer
   * waiting out a backoff is dialled now; its count of failed attempts is kept (a network that
   * is still down backs off as before from the next failure).
   */
  retryNow(): void {
    if (!this.o.running()) return
    for (const r of [...this.records.values()]) {
      if (!r.wanted || r.retryTimer === undefined) continue
      cancelRetry(r)
      if (!this.path.busy(r)) this.path.dial(r)
    }
  }

  /** Stop wanting `peer`: pending retries are cancelled (the path drops what is under way). */
  release(r: R): void {
    r.wanted = false
    cancelRetry(r)
  }

  /**
   * An attempt or a link of `r` failed: retry with backoff while wanted, or give up. `counts`:
   * false when the attempt ended because the peer is not in the room (see the module comment).
   */
  retry(r: R, code: ErrorCode, reason: string, counts = true): void {
    if (!this.o.running() || !r.wanted) {
      this.closed(r, code, reason)
      return
    }
    if (code === 'REKEY_DUE') {
      // closed on purpose to be re-keyed (DESIGN "Frames"): no failure, dialled again at once
      cancelRetry(r)
      if (!this.path.busy(r)) this.path.dial(r)
      return
    }
    if (counts) r.failures++
    else r.waits++
    const max = this.o.maxAttempts ?? 10
    if (r.failures > max && !this.o.persistentPeers?.has(r.peer)) {
      this.giveUp(r, code, `gave up after ${max} attempts: ${reason}`)
      return
    }
    const delay = backoffDelay((counts ? r.failures : r.waits) - 1, this.o.backoff)
    this.emit(r, 'backoff', { code, reason, retryInMs: delay })
    cancelRetry(r)
    r.retryTimer = setTimeout(() => {
      r.retryTimer = undefined
      if (this.o.running() && r.wanted && !this.path.busy(r)) this.path.dial(r)
    }, delay)
  }

  /** The attempt or link of `r` ended and is not retried now. */
  closed(r: R, code: ErrorCode, reason: string): void {
    cancelRetry(r)
    this.emit(r, 'closed', { code, reason })
  }

  /** Stop trying to reach `r`'s peer until it is asked for again (or joins the room again). */
  giveUp(r: R, code: ErrorCode, reason: string): void {
    r.wanted = false
    cancelRetry(r)
    this.path.abandon(r)
    this.emit(r, 'closed', { code, reason })
  }

  /**
   * Follow the room's presence: a party that joins gets a fresh count and, when wanted (every
   * party with `autoConnect`), an attempt at once; one that leaves is the path's to handle; on
   * (re)joining the room, every party in it is wanted (with `autoConnect`) and every wanted
   * peer without a link gets an attempt. `inRoom` runs first on (re)joining.
   */
  watchRoom(signaling: Pick<SignalingClient, 'on'>, room: string, inRoom?: () => void): () => void {
    const offs = [
      signaling.on('presence', (ev) => {
        if (ev.room !== room) return
        const peer = this.other(ev.party.partyId)
        if (!peer) return
        if (ev.event === 'joined') this.joined(peer)
        else {
          const r = this.records.get(peer)
          if (r) this.path.left(r)
        }
      }),
      signaling.on('joined', (ev) => {
        if (ev.room !== room) return
        inRoom?.()
        this.inRoom(ev.peers.map((p) => p.partyId))
      }),
    ]
    return () => {
      for (const off of offs) off()
    }
  }

  /** This party is in the room with `peers` (see {@link watchRoom}). */
  inRoom(peers: readonly string[]): void {
    if (!this.o.running()) return
    if (this.o.autoConnect !== false) {
      for (const raw of peers) {
        const peer = this.other(raw)
        if (peer) this.record(peer).wanted = true
      }
    }
    for (const r of [...this.records.values()]) if (r.wanted) this.want(r.peer)
  }

  /** `peer` joined the room. */
  private joined(peer: PartyId): void {
    const r = this.records.get(peer)
    if (r) {
      // a peer asked for before it was here gets a new attempt now, not after backoff, and a
      // fresh count of attempts
      r.failures = 0
      r.waits = 0
    }
    if (this.o.autoConnect !== false || r?.wanted) this.want(peer, true)
  }

  /** A valid PartyId that is not this party's, else undefined. */
  private other(raw: string): PartyId | undefined {
    const peer = safePartyId(raw)
    return peer && peer !== this.o.local() ? peer : undefined
  }
}

function cancelRetry(r: DialRecord): void {
  if (r.retryTimer) clearTimeout(r.retryTimer)
  r.retryTimer = undefined
}

/** `v` as a PartyId, or undefined when it is not one (ids from the network). */
export function safePartyId(v: string): PartyId | undefined {
  try {
    return parsePartyId(v)
  } catch {
    return undefined
  }
}
