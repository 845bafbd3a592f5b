/**
 * The `relay` transport: links whose frames travel through the signaling server as `relay`
 * events (DESIGN "Signaling server": frame relay fallback). The frames are the secure channel's
 * own, so the server sees the cleartext handshake (as on any path) and then AEAD ciphertext
 * only; it forwards opaque bytes and stamps the sender.
 *
 * It is the relay path of the connection manager (`connection-manager.ts`: wanted peers,
 * attempts, backoff, presence). Each payload carries the relay framing of `wire/relay.ts`
 * (`u8 version ‖ u8 kind ‖ u32 generation ‖ body`): `open` / `open-ack` agree that a link
 * exists, every frame names its link's generation (`relay-generations.ts`: a fresh link never
 * sees an older link's frames), and `close` ends it from either side. Either end may open; when
 * both do at once, the smaller PartyId's `open` wins. `initiator` is the smaller PartyId, as on
 * webrtc.
 *
 * `relay()` is fire and forget, so a relay link is closed with `LINK_LOST` (never left to lose a
 * frame quietly) when the client could not hand a payload to the socket, when the server
 * refuses a relay payload (an `error` event naming `relay`: `RATE_LIMITED`, `PEER_NOT_IN_ROOM` …),
 * when the socket drops (frames in flight may be gone) and when the peer leaves the room. Links
 * that were lost are opened again with backoff while wanted.
 *
 * Sends are paced below the server's per-socket limits (`relay-pacer.ts`), so that a burst
 * waits in `bufferedAmount` instead of being refused.
 * @module
 */

import { ConclaveError, type ErrorCode } from '../errors.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { SignalingClient } from '../signaling/client-types.ts'
import type { SignalingError } from '../signaling/error.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../signaling/validate.ts'
import { decodeRelayMessage, encodeRelayMessage, RELAY_HEADER_BYTES, RelayKind } from '../wire/relay.ts'
import { ConnectionManager, type DialPolicy, type DialRecord, safePartyId } from './connection-manager.ts'
import { DialingTransport } from './dialing-transport.ts'
import { RecentGenerations } from './relay-generations.ts'
import { RelayLink } from './relay-link.ts'
import { type RelayPacing, RelaySendQueue } from './relay-pacer.ts'
import type { Transport } from './types.ts'

export type { RelayPacing } from './relay-pacer.ts'

const MAX_LINK_MESSAGE = 64 * 1024
const MIB = 1024 * 1024

/** Options of {@link createRelayTransport}. */
export interface RelayTransportOptions extends DialPolicy {
  /** A started (or starting) signaling client; it may be shared with a webrtc transport. */
  signaling: Pick<SignalingClient, 'on' | 'relay' | 'join' | 'ready' | 'limits'>
  /** The room whose parties this transport links to (both parties must be in it). */
  room: string
  /** Link automatically to every party in the room. @default true */
  autoConnect?: boolean
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

/** The relay path's record of one peer. */
interface RelayPeer extends DialRecord {
  /** Our `open` is under way (generation {@link generation}). */
  opening: boolean
  /** Generation of the current link, or of our `open` under way. */
  generation: number
  link: RelayLink | undefined
  openedAt: number
  openTimer: ReturnType<typeof setTimeout> | undefined
  /** Generations recently used or answered with `close` (not reused, not answered twice). */
  recent: RecentGenerations
}

/** A link that lived this long resets the failure count when it goes. */
const STABLE_AFTER_MS = 10_000

class RelayTransportImpl extends DialingTransport<RelayPeer> implements RelayTransport {
  readonly kind = 'relay' as const
  private local: PartyId | undefined
  private running = false
  /** True while the client is registered and in the room (payloads can be routed). */
  private inRoom = false
  protected readonly manager: ConnectionManager<RelayPeer>
  private readonly offs: (() => void)[] = []
  private readonly queue: RelaySendQueue

  constructor(private readonly o: RelayTransportOptions) {
    super()
    if (!o || !o.signaling || typeof o.room !== 'string') {
      throw new ConclaveError('INVALID_ARGUMENT', 'createRelayTransport expected { signaling, room }')
    }
    this.manager = new ConnectionManager<RelayPeer>(
      {
        create: () => ({
          opening: false,
          generation: 0,
          link: undefined,
          openedAt: 0,
          openTimer: undefined,
          recent: new RecentGenerations(),
        }),
        busy: (p) => p.link !== undefined || p.opening,
        dial: (p) => this.open(p),
        abandon: (p) => this.cancelOpen(p),
        // payloads to it are refused now: no link, no retries until it joins again
        left: (p) => {
          this.manager.cancelRetry(p)
          this.lose(p, 'LINK_LOST', 'the peer left the room', false)
        },
      },
      { ...o, running: () => this.running, local: () => this.local },
    )
    this.queue = new RelaySendQueue({
      signaling: o.signaling,
      room: o.room,
      pacing: o.pacing,
      running: () => this.running,
    })
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
      this.manager.watchRoom(sig, this.o.room, () => {
        if (this.running) this.inRoom = true
      }),
    )
    await sig.ready(opts)
    const peers = await sig.join(this.o.room, opts)
    this.inRoom = true
    this.manager.inRoom(peers.map((p) => p.partyId))
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.inRoom = false
    for (const off of this.offs.splice(0)) off()
    this.queue.clear()
    for (const p of this.manager.all()) {
      if (p.openTimer) clearTimeout(p.openTimer)
      p.openTimer = undefined
      const link = p.link
      p.link = undefined
      if (link || p.opening) this.sendNow(p.peer, RelayKind.close, p.generation)
      p.opening = false
      link?.markClosed('LINK_CLOSED', 'transport stopped')
      this.manager.closed(p, 'LINK_CLOSED', 'transport stopped')
    }
    this.manager.clear()
  }

  async connect(peer: PartyId): Promise<void> {
    if (!this.running) throw new ConclaveError('NOT_STARTED', 'relay transport not started')
    const id = parsePartyId(peer)
    if (id === this.local) throw new ConclaveError('INVALID_ARGUMENT', 'cannot link to oneself')
    this.manager.connect(id, false)
  }

  release(peer: PartyId): void {
    const p = this.manager.get(peer)
    if (!p) return
    this.manager.release(p)
    if (p.opening) {
      // a late acceptance of this open is closed at the peer
      this.cancelOpen(p)
      this.enqueue(p.peer, RelayKind.close, p.generation)
      p.recent.remember(p.generation)
    }
  }

  // ── peers and links ───────────────────────────────────────────────────────────────────

  /** Send `open` for a fresh generation (once the client is in the room). */
  private open(p: RelayPeer): void {
    if (!this.running || !p.wanted) return
    if (!this.inRoom) {
      p.opening = false // opened when the client is (back) in the room
      return
    }
    p.generation = p.recent.fresh()
    p.opening = true
    p.attempt++
    this.manager.emit(p, 'signaling')
    const generation = p.generation
    const failed = (reason: string) => {
      if (p.opening && p.generation === generation) this.failOpening(p, 'PEER_UNREACHABLE', reason, true)
    }
    this.enqueue(p.peer, RelayKind.open, generation, () => failed('the signaling client could not send'))
    p.openTimer = setTimeout(() => {
      p.openTimer = undefined
      failed(`no answer to open in ${this.o.openTimeoutMs ?? 5000} ms`)
    }, this.o.openTimeoutMs ?? 5000)
  }

  /** Stop waiting for our `open` to be answered. */
  private cancelOpen(p: RelayPeer): void {
    if (p.openTimer) clearTimeout(p.openTimer)
    p.openTimer = undefined
    p.opening = false
  }

  /** Our `open` failed; `tell`: close it at the peer too, in case it accepts late. */
  private failOpening(p: RelayPeer, code: ErrorCode, reason: string, tell: boolean): void {
    this.cancelOpen(p)
    if (tell && this.inRoom) this.enqueue(p.peer, RelayKind.close, p.generation)
    this.manager.retry(p, code, reason)
  }

  /** The link exists at both ends: announce it. */
  private establish(p: RelayPeer, generation: number): RelayLink {
    this.cancelOpen(p)
    this.manager.cancelRetry(p)
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
    p.openedAt = Date.now()
    this.announce(link)
    return link
  }

  private sendFrame(p: RelayPeer, link: RelayLink, frame: Uint8Array): void {
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
  }

  private closedByOwner(p: RelayPeer, link: RelayLink, code: ErrorCode, reason: string): void {
    if (p.link !== link) return
    p.link = undefined
    // after the frames already queued, so the peer gets everything that was sent
    this.enqueue(p.peer, RelayKind.close, link.generation)
    if (Date.now() - p.openedAt >= STABLE_AFTER_MS) p.failures = 0
    // a deliberate close (replaced, stopped) is not retried; a failure is, while wanted
    if (code === 'LINK_CLOSED') this.manager.closed(p, code, reason)
    else this.manager.retry(p, code, reason)
  }

  /** Drop the link of `p` (the peer knows, or cannot be told): its queued frames go too. */
  private dropLink(p: RelayPeer, link: RelayLink): void {
    p.link = undefined
    this.queue.remove((o) => o.link === link)
    link.queued = 0
  }

  /**
   * The link (or the open under way) can no longer be trusted to carry every frame: close it
   * with `code`, drop its queued frames, tell the peer when possible, and open again while wanted.
   */
  private lose(p: RelayPeer, code: ErrorCode, reason: string, retry: boolean): void {
    const link = p.link
    if (link) {
      this.dropLink(p, link)
      if (this.inRoom) this.enqueue(p.peer, RelayKind.close, link.generation)
      if (Date.now() - p.openedAt >= STABLE_AFTER_MS) p.failures = 0
      link.markClosed(code, reason)
    } else if (!p.opening) {
      return
    }
    this.cancelOpen(p)
    if (retry) this.manager.retry(p, code, reason)
    else this.manager.closed(p, code, reason)
  }

  // ── inbound ───────────────────────────────────────────────────────────────────────────

  private onPayload(from: string, payload: Uint8Array): void {
    if (!this.running) return
    const peer = safePartyId(from)
    if (!peer || peer === this.local) return
    let m: ReturnType<typeof decodeRelayMessage>
    try {
      m = decodeRelayMessage(payload)
    } catch {
      return // not relay framing of a version we speak: nothing to answer
    }
    const p = this.manager.record(peer)
    const g = m.generation
    const ours = p.opening && p.generation === g
    switch (m.kind) {
      case RelayKind.open:
        this.onOpen(p, g)
        return
      case RelayKind.openAck:
        if (ours) this.establish(p, g)
        else if (p.link?.generation !== g) this.answerStale(p, g)
        return
      case RelayKind.frame: {
        let link = p.link?.generation === g ? p.link : undefined
        // a frame of the link we are opening: the peer accepted (its ack may come after)
        if (!link && ours) link = this.establish(p, g)
        // a copy: the socket's buffer may be pooled, and frames may be transferred to a Worker
        if (link) link.deliver(m.frame.slice())
        else this.answerStale(p, g)
        return
      }
      case RelayKind.close:
        if (p.link?.generation === g) {
          const link = p.link
          this.dropLink(p, link)
          p.recent.remember(g)
          link.markClosed('LINK_CLOSED', 'closed by the peer')
          this.manager.closed(p, 'LINK_CLOSED', 'closed by the peer')
        } else if (ours) {
          this.failOpening(p, 'PEER_UNREACHABLE', 'the peer refused the relay link', false)
        }
        return
    }
  }

  private onOpen(p: RelayPeer, g: number): void {
    if (p.link?.generation === g) {
      this.enqueue(p.peer, RelayKind.openAck, g) // a repeated open: answer again
      return
    }
    if (this.o.acceptFrom && !this.o.acceptFrom(p.peer)) {
      this.answerStale(p, g)
      return
    }
    if (p.opening) {
      // both ends opened at once: the smaller PartyId's open wins, the other is ignored
      if (this.local! < p.peer) return
      const mine = p.generation
      this.queue.remove((o) => o.peer === p.peer && o.kind === RelayKind.open && o.generation === mine)
    }
    const old = p.link
    if (old) {
      // the peer no longer has that link (it restarted, or lost it): this one replaces it
      this.dropLink(p, old)
      old.markClosed('LINK_LOST', 'the peer opened a new relay link')
    }
    p.wanted = true
    p.recent.remember(g)
    this.enqueue(p.peer, RelayKind.openAck, g)
    this.establish(p, g)
  }

  /** Answer a payload of a generation we do not hold with `close` (once per generation). */
  private answerStale(p: RelayPeer, g: number): void {
    // one of ours that was closed (the peer was told), or already answered
    if (p.recent.has(g)) return
    p.recent.remember(g)
    this.enqueue(p.peer, RelayKind.close, g)
  }

  private onServerError(e: SignalingError): void {
    if (!this.running || e.details.event !== 'relay') return
    if (e.details.room !== undefined && e.details.room !== this.o.room) return
    const reason = `the server refused a relay payload (${e.code})`
    const to = e.details.to === undefined ? undefined : safePartyId(e.details.to)
    if (to) {
      const p = this.manager.get(to)
      if (p) this.lose(p, 'LINK_LOST', reason, true)
      return
    }
    // the refusal does not say whose payload it was: any link may have lost a frame
    for (const p of [...this.manager.all()]) this.lose(p, 'LINK_LOST', reason, true)
  }

  private onSocketDown(): void {
    if (!this.running) return
    const wasInRoom = this.inRoom
    this.inRoom = false
    if (!wasInRoom) return
    // Payloads in flight on the old socket may be gone, and what waits here belongs to links and
    // opens that end now: every link is lost, and opened again once the client is back in the room.
    this.queue.clear()
    for (const p of [...this.manager.all()])
      this.lose(p, 'LINK_LOST', 'the signaling connection dropped', true)
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
  }

  /** Send a control payload now, ignoring pacing (stop). */
  private sendNow(peer: PartyId, kind: 1 | 2 | 3, generation: number): void {
    try {
      this.o.signaling.relay(this.o.room, peer, encodeRelayMessage({ kind, generation }))
    } catch {
      // stopping anyway
    }
  }
}
