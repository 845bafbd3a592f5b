/**
 * The `relay` transport: links whose frames travel through the signaling server as `relay`
 * events (DESIGN "Signaling server": frame relay fallback). The frames are the secure channel's
 * own, so the server sees the cleartext handshake (as on any path) and then AEAD ciphertext
 * only; it forwards opaque bytes and stamps the sender.
 *
 * Each payload carries the relay framing of `wire/relay.ts` (`u8 version ‖ u8 kind ‖
 * u32 generation ‖ body`): `open` / `open-ack` agree that a link exists, every frame names its
 * link's generation (a fresh link never sees an older link's frames), and `close` ends it from
 * either side. Either end may open; when both do at once, the smaller PartyId's `open` wins.
 * `initiator` is the smaller PartyId, as on webrtc.
 *
 * `relay()` is fire and forget, so a relay link is closed with `LINK_LOST` (never left to lose a
 * frame quietly) when the client could not hand a payload to the socket, when the server
 * refuses a relay payload (an `error` event naming `relay`: `RATE_LIMITED`, `PEER_NOT_IN_ROOM` …),
 * when the socket drops (frames in flight may be gone) and when the peer leaves the room. Links
 * that were lost are opened again with backoff while wanted.
 *
 * Sends are paced below the server's per-socket limits (events and bytes per second), so that a
 * burst waits in `bufferedAmount` instead of being refused.
 * @module
 */

import { type BackoffOptions, backoffDelay } from '../backoff.ts'
import { ConclaveError, type ErrorCode } from '../errors.ts'
import { Emitter } from '../events.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { SignalingClient } from '../signaling/client-types.ts'
import type { SignalingError } from '../signaling/error.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../signaling/validate.ts'
import { decodeRelayMessage, encodeRelayMessage, RELAY_HEADER_BYTES, RelayKind } from '../wire/relay.ts'
import { BaseLink } from './link-base.ts'
import type { Link, LinkStateEvent, Transport } from './types.ts'

const MAX_LINK_MESSAGE = 64 * 1024
const MIB = 1024 * 1024

/**
 * How fast the transport hands payloads to the socket. The server limits events and relay bytes
 * per socket (token buckets) and refuses the excess with `RATE_LIMITED`, which costs the link;
 * pacing below those limits keeps a burst waiting here instead.
 */
export interface RelayPacing {
  /** Sustained relay events per second. @default ¾ of the server's announced `eventsPerSecond` (75) */
  eventsPerSecond?: number
  /** Events sent at once before pacing starts. @default the server's announced `eventsPerSecond` (100) */
  eventBurst?: number
  /** Sustained relay bytes per second. @default 3 MiB (the server's default limit is 4 MiB/s) */
  bytesPerSecond?: number
  /** Bytes sent at once before pacing starts (at least one payload). @default 4 MiB */
  byteBurst?: number
}

/** Options of {@link createRelayTransport}. */
export interface RelayTransportOptions {
  /** A started (or starting) signaling client; it may be shared with a webrtc transport. */
  signaling: Pick<SignalingClient, 'on' | 'relay' | 'join' | 'ready' | 'limits'>
  /** The room whose parties this transport links to (both parties must be in it). */
  room: string
  /** Link automatically to every party in the room. @default true */
  autoConnect?: boolean
  /** Backoff between attempts. @default 250 ms doubling to 10 s, jitter 0.5 */
  backoff?: BackoffOptions
  /** Failed attempts in a row before giving up on a peer not in `persistentPeers`. @default 10 */
  maxAttempts?: number
  /** Peers retried forever (the roster). */
  persistentPeers?: ReadonlySet<PartyId>
  /** Time for the peer to answer an `open`. @default 5000 */
  openTimeoutMs?: number
  /** Pacing below the server's limits, or `false` to hand every payload to the socket at once. */
  pacing?: RelayPacing | false
  /** Bytes a link may hold unsent; past it the link is closed with `LINK_LOST`. @default 32 MiB */
  maxBufferedBytes?: number
  /**
   * Whether to accept a link that `peer` opens (a refused `open` is answered with `close`). The
   * hybrid transport refuses while a direct link is up, and after a fingerprint mismatch.
   * @default accept every party of the room
   */
  acceptFrom?: (peer: PartyId) => boolean
}

/** The relay transport: a {@link Transport} with a way to stop wanting a peer. */
export interface RelayTransport extends Transport {
  readonly kind: 'relay'
  /**
   * Stop wanting a link to `peer`: an `open` under way and pending retries are cancelled, and a
   * link that closes is not opened again. An open link stays open until someone closes it.
   */
  release(peer: PartyId): void
}

/** Create the relay transport. @throws ConclaveError `INVALID_ARGUMENT` without `signaling` or `room` */
export function createRelayTransport(options: RelayTransportOptions): RelayTransport {
  return new RelayTransportImpl(options)
}

let linkCounter = 0

interface LinkOwner {
  sendFrame(link: RelayLink, frame: Uint8Array): void
  closedByOwner(link: RelayLink, code: ErrorCode, reason: string): void
}

class RelayLink extends BaseLink {
  readonly kind = 'relay' as const
  /** Frame bytes queued for the socket. */
  queued = 0

  constructor(
    peer: PartyId,
    initiator: boolean,
    maxMessageSize: number,
    readonly generation: number,
    private readonly owner: LinkOwner,
  ) {
    super('relay', ++linkCounter, peer, initiator, maxMessageSize)
  }

  fingerprints(): undefined {
    return undefined
  }

  get bufferedAmount(): number {
    return this.queued
  }

  protected transmit(frame: Uint8Array): void {
    this.owner.sendFrame(this, frame)
  }

  /** Frames already sent still go out, then the peer is told. */
  protected closedByOwner(code: ErrorCode, reason: string): void {
    this.owner.closedByOwner(this, code, reason)
  }
}

/** One payload waiting for the socket. */
interface Outgoing {
  peer: PartyId
  kind: RelayKind
  generation: number
  payload: Uint8Array
  /** The link whose frame this is (its bytes count in its `bufferedAmount`). */
  link: RelayLink | undefined
  /** Called when the client could not send it. */
  failed: (() => void) | undefined
}

type Phase = 'idle' | 'opening' | 'open' | 'backoff' | 'closed'

interface PeerState {
  peer: PartyId
  wanted: boolean
  phase: Phase
  /** Generation of the current link, or of our `open` under way. */
  generation: number
  link: RelayLink | undefined
  attempt: number
  failures: number
  openedAt: number
  openTimer: ReturnType<typeof setTimeout> | undefined
  retryTimer: ReturnType<typeof setTimeout> | undefined
  /** Generations recently used or answered with `close` (not reused, not answered twice). */
  recent: number[]
}

const RECENT_GENERATIONS = 16
/** A link that lived this long resets the failure count when it goes. */
const STABLE_AFTER_MS = 10_000

/** Two token buckets (events and bytes) in front of the socket. */
class Pacer {
  private events = Number.NaN
  private bytes = Number.NaN
  private last = 0

  /** ms to wait before `n` bytes may go (0: taken now). */
  take(n: number, p: Required<RelayPacing>, now: number): number {
    if (Number.isNaN(this.events)) {
      this.events = p.eventBurst
      this.bytes = p.byteBurst
      this.last = now
    }
    const dt = Math.max(0, now - this.last) / 1000
    this.last = now
    this.events = Math.min(p.eventBurst, this.events + dt * p.eventsPerSecond)
    this.bytes = Math.min(p.byteBurst, this.bytes + dt * p.bytesPerSecond)
    const need = Math.min(n, p.byteBurst)
    if (this.events >= 1 && this.bytes >= need) {
      this.events -= 1
      this.bytes -= need
      return 0
    }
    const waitEvents = this.events >= 1 ? 0 : (1 - this.events) / p.eventsPerSecond
    const waitBytes = this.bytes >= need ? 0 : (need - this.bytes) / p.bytesPerSecond
    return Math.max(1, Math.ceil(Math.max(waitEvents, waitBytes) * 1000))
  }
}

class RelayTransportImpl implements RelayTransport {
  readonly kind = 'relay' as const
  private local: PartyId | undefined
  private running = false
  /** True while the client is registered and in the room (payloads can be routed). */
  private inRoom = false
  private readonly peers = new Map<PartyId, PeerState>()
  private readonly links = new Emitter<{ link: Link }>()
  private readonly states = new Emitter<{ state: LinkStateEvent }>()
  private readonly offs: (() => void)[] = []
  private queue: Outgoing[] = []
  private pumpScheduled = false
  private pumpTimer: ReturnType<typeof setTimeout> | undefined
  private readonly pacer = new Pacer()

  constructor(private readonly o: RelayTransportOptions) {
    if (!o || !o.signaling || typeof o.room !== 'string') {
      throw new ConclaveError('INVALID_ARGUMENT', 'createRelayTransport expected { signaling, room }')
    }
  }

  onLink(handler: (link: Link) => void): () => void {
    return this.links.on('link', handler)
  }

  onState(handler: (event: LinkStateEvent) => void): () => void {
    return this.states.on('state', handler)
  }

  async start(local: PartyId, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.running) return
    this.local = parsePartyId(local)
    this.running = true
    const sig = this.o.signaling
    this.offs.push(
      sig.on('relay', (ev) => {
        if (ev.room === this.o.room) this.onPayload(ev.from, ev.frame)
      }),
      sig.on('error', (e) => this.onServerError(e)),
      sig.on('state', (s) => {
        if (s !== 'registered') this.onSocketDown()
      }),
      sig.on('joined', (ev) => {
        if (ev.room === this.o.room) this.onInRoom(ev.peers.map((p) => p.partyId))
      }),
      sig.on('presence', (ev) => {
        if (ev.room !== this.o.room) return
        const peer = safeId(ev.party.partyId)
        if (!peer || peer === this.local) return
        if (ev.event === 'joined') {
          if (this.o.autoConnect !== false) this.peerState(peer).wanted = true
          const p = this.peers.get(peer)
          if (!p) return
          p.failures = 0 // a (re)joined peer gets a fresh set of attempts
          if (p.wanted && p.phase !== 'open' && p.phase !== 'opening' && !p.retryTimer) this.open(p)
        } else {
          // payloads to it are refused now: no link, no retries until it joins again
          const p = this.peers.get(peer)
          if (!p) return
          if (p.retryTimer) clearTimeout(p.retryTimer)
          p.retryTimer = undefined
          if (p.phase === 'backoff') p.phase = 'idle'
          this.lose(p, 'LINK_LOST', 'the peer left the room', false)
        }
      }),
    )
    await sig.ready(opts)
    const peers = await sig.join(this.o.room, opts)
    this.onInRoom(peers.map((p) => p.partyId))
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.inRoom = false
    for (const off of this.offs.splice(0)) off()
    if (this.pumpTimer) clearTimeout(this.pumpTimer)
    this.pumpTimer = undefined
    this.queue = []
    for (const p of this.peers.values()) {
      clearTimers(p)
      const link = p.link
      p.link = undefined
      if (link || p.phase === 'opening') this.sendNow(p.peer, RelayKind.close, p.generation)
      link?.markClosed('LINK_CLOSED', 'transport stopped')
      p.phase = 'closed'
      this.emitState(p, 'closed', { code: 'LINK_CLOSED', reason: 'transport stopped' })
    }
    this.peers.clear()
  }

  async connect(peer: PartyId): Promise<void> {
    if (!this.running) throw new ConclaveError('NOT_STARTED', 'relay transport not started')
    const id = parsePartyId(peer)
    if (id === this.local) throw new ConclaveError('INVALID_ARGUMENT', 'cannot link to oneself')
    const p = this.peerState(id)
    p.wanted = true
    if (p.phase === 'open' || p.phase === 'opening' || p.retryTimer) return
    if (p.phase === 'closed') p.failures = 0 // asked again after giving up
    this.open(p)
  }

  release(peer: PartyId): void {
    const p = this.peers.get(peer)
    if (!p) return
    p.wanted = false
    if (p.retryTimer) clearTimeout(p.retryTimer)
    p.retryTimer = undefined
    if (p.phase === 'opening') {
      if (p.openTimer) clearTimeout(p.openTimer)
      p.openTimer = undefined
      // a late acceptance of this open is closed at the peer
      this.enqueue(p.peer, RelayKind.close, p.generation)
      remember(p, p.generation)
      p.phase = 'idle'
    } else if (p.phase === 'backoff') {
      p.phase = 'idle'
    }
  }

  // ── peers and links ───────────────────────────────────────────────────────────────────

  private peerState(peer: PartyId): PeerState {
    let p = this.peers.get(peer)
    if (!p) {
      p = {
        peer,
        wanted: false,
        phase: 'idle',
        generation: 0,
        link: undefined,
        attempt: 0,
        failures: 0,
        openedAt: 0,
        openTimer: undefined,
        retryTimer: undefined,
        recent: [],
      }
      this.peers.set(peer, p)
    }
    return p
  }

  private emitState(p: PeerState, state: LinkStateEvent['state'], extra: Partial<LinkStateEvent> = {}): void {
    this.states.emit('state', { peer: p.peer, state, attempt: p.attempt, ...extra })
  }

  private onInRoom(peers: string[]): void {
    if (!this.running) return
    this.inRoom = true
    if (this.o.autoConnect !== false) {
      for (const raw of peers) {
        const peer = safeId(raw)
        if (peer && peer !== this.local) this.peerState(peer).wanted = true
      }
    }
    for (const p of this.peers.values()) {
      if (p.wanted && (p.phase === 'idle' || p.phase === 'closed') && !p.retryTimer) this.open(p)
    }
  }

  /** Send `open` for a fresh generation (once the client is in the room). */
  private open(p: PeerState): void {
    if (!this.running || !p.wanted) return
    if (!this.inRoom) {
      p.phase = 'idle' // opened when the client is (back) in the room
      return
    }
    p.generation = freshGeneration(p)
    remember(p, p.generation)
    p.phase = 'opening'
    p.attempt++
    this.emitState(p, 'signaling')
    const generation = p.generation
    const failed = (reason: string) => {
      if (p.phase === 'opening' && p.generation === generation)
        this.failOpening(p, 'PEER_UNREACHABLE', reason, true)
    }
    this.enqueue(p.peer, RelayKind.open, generation, () => failed('the signaling client could not send'))
    p.openTimer = setTimeout(() => {
      p.openTimer = undefined
      failed(`no answer to open in ${this.o.openTimeoutMs ?? 5000} ms`)
    }, this.o.openTimeoutMs ?? 5000)
  }

  /** Our `open` failed; `tell`: close it at the peer too, in case it accepts late. */
  private failOpening(p: PeerState, code: ErrorCode, reason: string, tell: boolean): void {
    if (p.openTimer) clearTimeout(p.openTimer)
    p.openTimer = undefined
    p.phase = 'idle'
    if (tell && this.inRoom) this.enqueue(p.peer, RelayKind.close, p.generation)
    this.retry(p, code, reason)
  }

  /** The link exists at both ends: announce it. */
  private establish(p: PeerState, generation: number): RelayLink {
    if (p.openTimer) clearTimeout(p.openTimer)
    p.openTimer = undefined
    if (p.retryTimer) clearTimeout(p.retryTimer)
    p.retryTimer = undefined
    const max = this.o.signaling.limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    const link = new RelayLink(
      p.peer,
      this.local! < p.peer,
      Math.min(MAX_LINK_MESSAGE, max - RELAY_HEADER_BYTES),
      generation,
      {
        sendFrame: (l, frame) => this.sendFrame(p, l, frame),
        closedByOwner: (l, code, reason) => this.closedByOwner(p, l, code, reason),
      },
    )
    p.generation = generation
    p.link = link
    p.phase = 'open'
    p.openedAt = Date.now()
    this.links.emit('link', link)
    return link
  }

  private sendFrame(p: PeerState, link: RelayLink, frame: Uint8Array): void {
    const limit = this.o.maxBufferedBytes ?? 32 * MIB
    if (link.queued + frame.length > limit) {
      this.lose(p, 'LINK_LOST', `over ${limit} bytes wait for the relay`, true)
      return
    }
    const payload = encodeRelayMessage({ kind: RelayKind.frame, generation: link.generation, frame })
    link.queued += frame.length
    this.queue.push({
      peer: p.peer,
      kind: RelayKind.frame,
      generation: link.generation,
      payload,
      link,
      failed: () => {
        if (p.link === link) this.lose(p, 'LINK_LOST', 'the signaling client could not send a frame', true)
      },
    })
    this.schedulePump()
  }

  private closedByOwner(p: PeerState, link: RelayLink, code: ErrorCode, reason: string): void {
    if (p.link !== link) return
    p.link = undefined
    p.phase = 'idle'
    // after the frames already queued, so the peer gets everything that was sent
    this.enqueue(p.peer, RelayKind.close, link.generation)
    const lived = Date.now() - p.openedAt
    if (lived >= STABLE_AFTER_MS) p.failures = 0
    // a deliberate close (replaced, stopped) is not retried; a failure is, while wanted
    if (code === 'LINK_CLOSED') this.emitState(p, 'closed', { code, reason })
    else this.retry(p, code, reason)
  }

  /**
   * The link (or the open under way) can no longer be trusted to carry every frame: close it
   * with `code`, drop its queued frames, tell the peer when possible, and open again while wanted.
   */
  private lose(p: PeerState, code: ErrorCode, reason: string, retry: boolean): void {
    const link = p.link
    if (link) {
      p.link = undefined
      this.queue = this.queue.filter((o) => o.link !== link)
      link.queued = 0
      if (this.inRoom) this.enqueue(p.peer, RelayKind.close, link.generation)
      if (Date.now() - p.openedAt >= STABLE_AFTER_MS) p.failures = 0
      link.markClosed(code, reason)
    } else if (p.phase !== 'opening') {
      return
    }
    if (p.openTimer) clearTimeout(p.openTimer)
    p.openTimer = undefined
    p.phase = 'idle'
    if (retry) this.retry(p, code, reason)
    else this.emitState(p, 'closed', { code, reason })
  }

  /** Schedule the next attempt with backoff, or give up. */
  private retry(p: PeerState, code: ErrorCode, reason: string): void {
    if (!this.running || !p.wanted) {
      p.phase = 'closed'
      this.emitState(p, 'closed', { code, reason })
      return
    }
    p.failures++
    const max = this.o.maxAttempts ?? 10
    if (p.failures > max && !this.o.persistentPeers?.has(p.peer)) {
      p.wanted = false
      p.phase = 'closed'
      this.emitState(p, 'closed', { code, reason: `gave up after ${max} attempts: ${reason}` })
      return
    }
    const delay = backoffDelay(p.failures - 1, this.o.backoff)
    p.phase = 'backoff'
    this.emitState(p, 'backoff', { code, reason, retryInMs: delay })
    if (p.retryTimer) clearTimeout(p.retryTimer)
    p.retryTimer = setTimeout(() => {
      p.retryTimer = undefined
      if (this.running && p.wanted && p.phase === 'backoff') this.open(p)
    }, delay)
  }

  // ── inbound ───────────────────────────────────────────────────────────────────────────

  private onPayload(from: string, payload: Uint8Array): void {
    if (!this.running) return
    const peer = safeId(from)
    if (!peer || peer === this.local) return
    let m: ReturnType<typeof decodeRelayMessage>
    try {
      m = decodeRelayMessage(payload)
    } catch {
      return // not relay framing of a version we speak: nothing to answer
    }
    const p = this.peerState(peer)
    const g = m.generation
    switch (m.kind) {
      case RelayKind.open:
        this.onOpen(p, g)
        return
      case RelayKind.openAck:
        if (p.phase === 'opening' && p.generation === g) this.establish(p, g)
        else if (p.link?.generation !== g) this.answerStale(p, g)
        return
      case RelayKind.frame: {
        let link = p.link?.generation === g ? p.link : undefined
        // a frame of the link we are opening: the peer accepted (its ack may come after)
        if (!link && p.phase === 'opening' && p.generation === g) link = this.establish(p, g)
        // a copy: the socket's buffer may be pooled, and frames may be transferred to a Worker
        if (link) link.deliver(m.frame.slice())
        else this.answerStale(p, g)
        return
      }
      case RelayKind.close:
        if (p.link?.generation === g) {
          const link = p.link
          p.link = undefined
          p.phase = 'idle'
          remember(p, g)
          this.queue = this.queue.filter((o) => o.link !== link)
          link.queued = 0
          link.markClosed('LINK_CLOSED', 'closed by the peer')
          this.emitState(p, 'closed', { code: 'LINK_CLOSED', reason: 'closed by the peer' })
        } else if (p.phase === 'opening' && p.generation === g) {
          this.failOpening(p, 'PEER_UNREACHABLE', 'the peer refused the relay link', false)
        }
        return
    }
  }

  private onOpen(p: PeerState, g: number): void {
    if (p.link?.generation === g) {
      this.enqueue(p.peer, RelayKind.openAck, g) // a repeated open: answer again
      return
    }
    if (this.o.acceptFrom && !this.o.acceptFrom(p.peer)) {
      this.answerStale(p, g)
      return
    }
    if (p.phase === 'opening') {
      // both ends opened at once: the smaller PartyId's open wins, the other is ignored
      if (this.local! < p.peer) return
      const mine = p.generation
      this.queue = this.queue.filter(
        (o) => !(o.peer === p.peer && o.kind === RelayKind.open && o.generation === mine),
      )
    }
    const old = p.link
    if (old) {
      // the peer no longer has that link (it restarted, or lost it): this one replaces it
      p.link = undefined
      this.queue = this.queue.filter((o) => o.link !== old)
      old.queued = 0
      old.markClosed('LINK_LOST', 'the peer opened a new relay link')
    }
    p.wanted = true
    remember(p, g)
    this.enqueue(p.peer, RelayKind.openAck, g)
    this.establish(p, g)
  }

  /** Answer a payload of a generation we do not hold with `close` (once per generation). */
  private answerStale(p: PeerState, g: number): void {
    // one of ours that was closed (the peer was told), or already answered
    if (p.recent.includes(g)) return
    remember(p, g)
    this.enqueue(p.peer, RelayKind.close, g)
  }

  private onServerError(e: SignalingError): void {
    if (!this.running || e.details.event !== 'relay') return
    if (e.details.room !== undefined && e.details.room !== this.o.room) return
    const reason = `the server refused a relay payload (${e.code})`
    const to = e.details.to === undefined ? undefined : safeId(e.details.to)
    if (to) {
      const p = this.peers.get(to)
      if (p) this.lose(p, 'LINK_LOST', reason, true)
      return
    }
    // the refusal does not say whose payload it was: any link may have lost a frame
    for (const p of this.peers.values()) this.lose(p, 'LINK_LOST', reason, true)
  }

  private onSocketDown(): void {
    if (!this.running) return
    const wasInRoom = this.inRoom
    this.inRoom = false
    if (!wasInRoom) return
    // Payloads in flight on the old socket may be gone, and what waits here belongs to links and
    // opens that end now: every link is lost, and opened again once the client is back in the room.
    this.queue = []
    for (const p of this.peers.values()) this.lose(p, 'LINK_LOST', 'the signaling connection dropped', true)
  }

  // ── outbound ──────────────────────────────────────────────────────────────────────────

  private enqueue(peer: PartyId, kind: 1 | 2 | 3, generation: number, failed?: () => void): void {
    this.queue.push({
      peer,
      kind,
      generation,
      payload: encodeRelayMessage({ kind, generation }),
      link: undefined,
      failed,
    })
    this.schedulePump()
  }

  /** Send a control payload now, ignoring pacing (stop). */
  private sendNow(peer: PartyId, kind: 1 | 2 | 3, generation: number): void {
    try {
      this.o.signaling.relay(this.o.room, peer, encodeRelayMessage({ kind, generation }))
    } catch {
      // stopping anyway
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.pumpTimer) return
    this.pumpScheduled = true
    // out of the caller's stack: a failed send closes links, which must not happen inside send()
    queueMicrotask(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  private pacing(): Required<RelayPacing> | undefined {
    if (this.o.pacing === false) return undefined
    const p = this.o.pacing ?? {}
    const rate = this.o.signaling.limits?.eventsPerSecond ?? 100
    const max = this.o.signaling.limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    return {
      eventsPerSecond: p.eventsPerSecond ?? rate * 0.75,
      eventBurst: Math.max(1, p.eventBurst ?? rate),
      bytesPerSecond: p.bytesPerSecond ?? 3 * MIB,
      byteBurst: Math.max(max, p.byteBurst ?? 4 * MIB),
    }
  }

  private pump(): void {
    if (!this.running) return
    const pacing = this.pacing()
    while (this.queue.length > 0) {
      const item = this.queue[0]!
      if (pacing) {
        const wait = this.pacer.take(item.payload.length, pacing, Date.now())
        if (wait > 0) {
          this.pumpTimer = setTimeout(() => {
            this.pumpTimer = undefined
            this.pump()
          }, wait)
          return
        }
      }
      this.queue.shift()
      if (item.link)
        item.link.queued = Math.max(0, item.link.queued - (item.payload.length - RELAY_HEADER_BYTES))
      let sent: boolean
      try {
        sent = this.o.signaling.relay(this.o.room, item.peer, item.payload)
      } catch {
        sent = false // e.g. FRAME_TOO_LARGE: the server now announces a smaller limit
      }
      if (!sent) item.failed?.()
    }
  }
}

function clearTimers(p: PeerState): void {
  if (p.openTimer) clearTimeout(p.openTimer)
  if (p.retryTimer) clearTimeout(p.retryTimer)
  p.openTimer = undefined
  p.retryTimer = undefined
}

function remember(p: PeerState, generation: number): void {
  if (p.recent.includes(generation)) return
  p.recent.push(generation)
  if (p.recent.length > RECENT_GENERATIONS) p.recent.shift()
}

/** A random u32 that this end has not used recently for this peer. */
function freshGeneration(p: PeerState): number {
  const buf = new Uint32Array(1)
  for (;;) {
    globalThis.crypto.getRandomValues(buf)
    const g = buf[0]!
    if (!p.recent.includes(g)) return g
  }
}

function safeId(v: string): PartyId | undefined {
  try {
    return parsePartyId(v)
  } catch {
    return undefined
  }
}
