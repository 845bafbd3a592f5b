/**
 * The `webrtc` transport: direct data channels (simple-peer over an injected
 * RTCPeerConnection) negotiated through the signaling server, with the connection manager of
 * DESIGN ("Connections"): one link per pair (the smaller PartyId offers, the other sends
 * `connect-request`), `(linkId, attempt)` on every signal with older attempts dropped, a new
 * RTCPeerConnection for every attempt (simple-peer has no ICE restart), retries with
 * exponential backoff and jitter, and no STUN/TURN server unless configured.
 *
 * A link closed on purpose (`link.close()`, `stop()`) is closed in two steps: this end stops
 * sending and sends a `close` notice on the channel, the far end stops sending and closes the
 * connection, and only then (or after {@link CLOSE_GRACE_MS}) does this end close its own. Why:
 * in @roamhq/wrtc, a channel closed from the far end is torn down on wrtc's signaling thread
 * while `RTCDataChannel.send()` may be running on the JS thread, and `send()` then dereferences
 * a pointer that thread has just cleared (SIGSEGV in `node_webrtc::RTCDataChannel::Send`). A
 * channel must therefore never be closed under a peer that may still be sending on it.
 * @module
 */

import { type BackoffOptions, backoffDelay } from '../backoff.ts'
import { ConclaveError, type ErrorCode } from '../errors.ts'
import { Emitter } from '../events.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { SignalingClient } from '../signaling/client.ts'
import type { SignalData, SignalEvent } from '../signaling/protocol.ts'
import { fingerprintsFromSdp } from '../wire/handshake.ts'
import { BaseLink } from './link-base.ts'
import type { SimplePeerConstructor, SimplePeerInstance, SimplePeerSignal } from './simple-peer-types.ts'
import type { Link, LinkStateEvent, Transport } from './types.ts'

/** Options of {@link createWebRtcTransport}. */
export interface WebRtcTransportOptions {
  /** A started (or starting) signaling client. */
  signaling: Pick<SignalingClient, 'on' | 'signal' | 'join' | 'ready' | 'partyId'>
  /** The room whose parties this transport links to. */
  room: string
  /** simple-peer's constructor (the package in Node, its prebuilt bundle in browsers). */
  SimplePeer: SimplePeerConstructor
  /** `{ RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }` (@roamhq/wrtc in Node); omit in browsers. */
  wrtc?: unknown
  /** ICE servers. @default [] — never a public STUN/TURN host */
  iceServers?: RTCIceServer[]
  /** @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Keep only the ICE candidates (local and remote) for which this returns true (e.g. loopback in tests). */
  candidateFilter?: (candidate: string) => boolean
  /** Link automatically to every party that joins the room. @default true */
  autoConnect?: boolean
  backoff?: BackoffOptions
  /** Attempts before giving up on a peer that is not in `persistentPeers`. @default 10 */
  maxAttempts?: number
  /** Peers retried forever (the roster). */
  persistentPeers?: ReadonlySet<PartyId>
  /** Time for one attempt to open a data channel. @default 15000 */
  connectTimeoutMs?: number
}

/** The loopback-only ICE candidate filter for tests (127.0.0.0/8 and ::1). */
export function loopbackOnly(candidate: string): boolean {
  const parts = candidate.split(' ')
  const address = parts[4] ?? ''
  return address.startsWith('127.') || address === '::1' || address === 'localhost'
}

const MAX_LINK_MESSAGE = 64 * 1024
/**
 * Bytes a data channel may hold before frames wait in the link (wrtc drops what passes 16 MiB,
 * and the SCTP buffer of browsers is of that order too).
 */
export const CHANNEL_HIGH_WATER = 8 * 1024 * 1024
/** How often held frames are retried (wrtc fires no `bufferedamountlow`). */
const DRAIN_POLL_MS = 5

/**
 * How long a link closed on purpose keeps its connection open for the far end to stop sending
 * and close it (see the module comment), before this end closes it anyway.
 */
const CLOSE_GRACE_MS = 3000
/** How long `stop()` waits for the far ends of its links to close them. */
const STOP_GRACE_MS = 1000

/**
 * The in-band control messages of a link. They travel as text messages, and frames always as
 * binary ones, so no frame can be taken for one. Version 1 has one type, `close`: "I have
 * stopped sending on this channel; close the connection".
 */
type LinkControl = { v: 1; type: 'close' }

const CLOSE_NOTICE = JSON.stringify({ v: 1, type: 'close' } satisfies LinkControl)

/** The control message a text message holds, if it is one this code knows. */
function parseLinkControl(text: string): LinkControl | undefined {
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!m || typeof m !== 'object') return undefined
  const { v, type } = m as { v?: unknown; type?: unknown }
  return v === 1 && type === 'close' ? { v, type } : undefined
}

/** Max message size of a connection: SCTP's, else the remote SDP's, capped at 64 KiB. */
export function linkMaxMessageSize(pc: RTCPeerConnection | null): number {
  const sctp = (pc as { sctp?: { maxMessageSize?: number } | null } | null)?.sctp?.maxMessageSize
  let size = typeof sctp === 'number' && sctp > 0 ? sctp : 0
  if (!size) {
    const m = /^a=max-message-size:(\d+)/m.exec(pc?.remoteDescription?.sdp ?? '')
    size = m ? Number(m[1]) || MAX_LINK_MESSAGE : 65536
  }
  return Math.min(size, MAX_LINK_MESSAGE)
}

let linkCounter = 0

class WebRtcLink extends BaseLink {
  readonly kind = 'webrtc' as const

  constructor(
    peer: PartyId,
    initiator: boolean,
    maxMessageSize: number,
    private readonly sp: SimplePeerInstance,
    private readonly fps: { local: string[]; remote: string[] },
    private readonly onClosed: (link: WebRtcLink, code: ErrorCode, reason: string) => void,
  ) {
    super('rtc', ++linkCounter, peer, initiator, maxMessageSize)
  }

  fingerprints(): { local: string[]; remote: string[] } {
    return this.fps
  }

  /** Frames held back while the data channel's buffer is over {@link CHANNEL_HIGH_WATER}. */
  private held: Uint8Array[] = []
  private heldBytes = 0
  /** The channel's bufferedAmount when last read, and the bytes sent since (reads cost a send). */
  private lastBuffered = 0
  private sentSince = 0
  private poll: ReturnType<typeof setTimeout> | undefined

  /** Bytes waiting: in the data channel, and held back here. */
  get bufferedAmount(): number {
    return (this.sp._channel?.bufferedAmount ?? 0) + this.heldBytes
  }

  protected override get pathGone(): boolean {
    return this.sp.destroyed
  }

  /**
   * The backpressure seam (DESIGN "Frames"): a frame goes to the channel while its buffer stays
   * under {@link CHANNEL_HIGH_WATER}, and waits here, in order, otherwise; a timer drains it
   * (@roamhq/wrtc never fires `bufferedamountlow`, and silently drops what overflows its buffer).
   * The buffer is read only when the bytes sent since the last read could reach the mark.
   */
  protected transmit(frame: Uint8Array): void {
    if (this.held.length === 0) {
      if (this.lastBuffered + this.sentSince + frame.length <= CHANNEL_HIGH_WATER) {
        this.write(frame)
        return
      }
      this.lastBuffered = this.sp._channel?.bufferedAmount ?? 0
      this.sentSince = 0
      if (this.lastBuffered + frame.length <= CHANNEL_HIGH_WATER) {
        this.write(frame)
        return
      }
    }
    // copied: the caller may reuse its buffer once send() returns
    this.held.push(frame.slice())
    this.heldBytes += frame.length
    this.poll ??= setTimeout(() => this.drain(), DRAIN_POLL_MS)
  }

  private write(frame: Uint8Array): void {
    try {
      this.sp.send(frame)
    } catch (e) {
      throw new ConclaveError('LINK_CLOSED', `send failed: ${e instanceof Error ? e.message : String(e)}`)
    }
    this.sentSince += frame.length
  }

  /** Move held frames to the channel as its buffer drains. */
  private drain(): void {
    this.poll = undefined
    if (this.closed || this.sp.destroyed) {
      this.held = []
      this.heldBytes = 0
      return
    }
    let buffered = this.sp._channel?.bufferedAmount ?? 0
    while (this.held.length > 0 && buffered + this.held[0]!.length <= CHANNEL_HIGH_WATER) {
      const frame = this.held.shift()!
      this.heldBytes -= frame.length
      try {
        this.sp.send(frame)
      } catch (e) {
        this.held = []
        this.heldBytes = 0
        this.close('LINK_LOST', `send failed: ${e instanceof Error ? e.message : String(e)}`)
        return
      }
      buffered += frame.length
    }
    this.lastBuffered = buffered
    this.sentSince = 0
    if (this.held.length > 0) this.poll = setTimeout(() => this.drain(), DRAIN_POLL_MS)
  }

  /** Closes the connection once the far end has stopped sending on it. */
  protected closedByOwner(code: ErrorCode, reason: string): void {
    if (this.poll) clearTimeout(this.poll)
    this.poll = undefined
    // held frames belong to this link's keys: the delivery layer sends their units again
    this.held = []
    this.heldBytes = 0
    this.onClosed(this, code, reason)
  }
}

/**
 * What travels in `SignalData.payload`: simple-peer's signal, and the sender's transport
 * instance (random per start), so the offerer can tell a restarted peer's `connect-request`
 * from a stale one sent before the current link was up.
 */
interface SignalEnvelope {
  instance: string
  /** simple-peer signal (offer, answer, candidate, renegotiate). */
  sp?: SimplePeerSignal
  /** connect-request: the attempt the requester last accepted (0: none). */
  seen?: number
}

const MAX_EARLY_FRAMES = 64

interface PeerConn {
  peer: PartyId
  /** The peer's transport instance on the current attempt (from its answer). */
  peerInstance: string | undefined
  /** Frames that arrived before simple-peer's `connect` (the far end may open first). */
  early: Uint8Array[]
  /** We offer when our id is the smaller. */
  offerer: boolean
  attempt: number
  sp: SimplePeerInstance | undefined
  link: WebRtcLink | undefined
  state: LinkStateEvent['state'] | 'open'
  failures: number
  /** Attempts ended because the peer was not in the room: they pace the safety retries only. */
  waits: number
  wanted: boolean
  retryTimer: ReturnType<typeof setTimeout> | undefined
  connectTimer: ReturnType<typeof setTimeout> | undefined
  lastRequest: number
}

/** Create the webrtc transport. */
export function createWebRtcTransport(options: WebRtcTransportOptions): Transport {
  return new WebRtcTransport(options)
}

class WebRtcTransport implements Transport {
  readonly kind = 'webrtc' as const
  private local: PartyId | undefined
  private readonly conns = new Map<PartyId, PeerConn>()
  private readonly links = new Emitter<{ link: Link }>()
  private readonly states = new Emitter<{ state: LinkStateEvent }>()
  private readonly offs: (() => void)[] = []
  private running = false
  /** This transport's instance id (random per start). */
  private instance = ''
  /**
   * Connections of links closed on purpose, kept open until the far end closes them (it stops
   * sending first) or their grace timer runs out.
   */
  private readonly closing = new Map<SimplePeerInstance, ReturnType<typeof setTimeout>>()

  constructor(private readonly o: WebRtcTransportOptions) {
    if (!o || !o.signaling || !o.SimplePeer || typeof o.room !== 'string') {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        'createWebRtcTransport expected { signaling, room, SimplePeer }',
      )
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
    this.local = local
    this.running = true
    this.instance = Math.random().toString(36).slice(2) + Date.now().toString(36)
    const sig = this.o.signaling
    this.offs.push(
      sig.on('signal', (ev) => this.onSignal(ev)),
      sig.on('presence', (ev) => {
        if (ev.room !== this.o.room) return
        const peer = safeId(ev.party.partyId)
        if (!peer || peer === this.local) return
        if (ev.event === 'joined') {
          // a peer asked for before it was here gets a new attempt now, not after backoff,
          // and a fresh count of attempts
          const c = this.conns.get(peer)
          if (c && !c.link) {
            c.failures = 0
            c.waits = 0
          }
          if (this.o.autoConnect !== false || c?.wanted) this.want(peer, true)
        }
        if (ev.event === 'left') {
          // keep an open link (the server may be restarting); just stop retrying
          const c = this.conns.get(peer)
          if (c && !c.link) this.giveUp(c, 'PEER_UNREACHABLE', 'left the room')
        }
      }),
      sig.on('joined', (ev) => {
        if (ev.room !== this.o.room || this.o.autoConnect === false) return
        for (const p of ev.peers) {
          const peer = safeId(p.partyId)
          if (peer && peer !== this.local) this.want(peer)
        }
      }),
    )
    await sig.ready(opts)
    const peers = await sig.join(this.o.room, opts)
    if (this.o.autoConnect !== false) {
      for (const p of peers) {
        const peer = safeId(p.partyId)
        if (peer && peer !== this.local) this.want(peer)
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const off of this.offs.splice(0)) off()
    for (const c of this.conns.values()) this.teardown(c, 'LINK_CLOSED', 'transport stopped', false, true)
    this.conns.clear()
    // give the far ends a moment to stop sending and close (bounded), then close the rest
    const end = Date.now() + STOP_GRACE_MS
    while (this.closing.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    for (const sp of [...this.closing.keys()]) this.reap(sp)
  }

  async connect(peer: PartyId): Promise<void> {
    if (!this.running) throw new ConclaveError('NOT_STARTED', 'webrtc transport not started')
    this.want(parsePartyId(peer), true)
  }

  private conn(peer: PartyId): PeerConn {
    let c = this.conns.get(peer)
    if (!c) {
      c = {
        peer,
        peerInstance: undefined,
        early: [],
        offerer: this.local! < peer,
        attempt: 0,
        sp: undefined,
        link: undefined,
        state: 'idle',
        failures: 0,
        waits: 0,
        wanted: false,
        retryTimer: undefined,
        connectTimer: undefined,
        lastRequest: 0,
      }
      this.conns.set(peer, c)
    }
    return c
  }

  private setState(c: PeerConn, state: LinkStateEvent['state'], extra: Partial<LinkStateEvent> = {}): void {
    c.state = state
    this.states.emit('state', { peer: c.peer, state, attempt: c.attempt, ...extra })
  }

  /** We want a link to `peer`: offer, or ask the smaller party to offer. */
  private want(peer: PartyId, now = false): void {
    if (!this.running || peer === this.local) return
    const c = this.conn(peer)
    c.wanted = true
    if (c.link && !c.link.closed) return
    if (c.sp && !c.sp.destroyed) return // an attempt is under way
    if (c.retryTimer && !now) return
    if (c.retryTimer) clearTimeout(c.retryTimer)
    c.retryTimer = undefined
    if (c.offerer) this.offer(c)
    else this.requestOffer(c)
  }

  private requestOffer(c: PeerConn): void {
    const t = Date.now()
    if (t - c.lastRequest < 200) {
      // asked a moment ago: ask again when the moment is over (not never)
      if (!c.connectTimer && !c.retryTimer) {
        c.retryTimer = setTimeout(
          () => {
            c.retryTimer = undefined
            if (this.running && c.wanted && !c.link) this.want(c.peer, true)
          },
          200 - (t - c.lastRequest),
        )
      }
      return
    }
    c.lastRequest = t
    this.setState(c, 'signaling')
    this.sendSignal(c, {
      kind: 'connect-request',
      attempt: c.attempt,
      payload: { instance: this.instance, seen: c.attempt },
    })
    // if no offer comes, ask again later
    this.armConnectTimer(c)
  }

  private offer(c: PeerConn): void {
    // attempts are monotonic across restarts of this party (clock-based), so a restarted
    // offerer's first attempt is never taken for an old one
    c.attempt = Math.max(Date.now(), c.attempt + 1)
    this.setState(c, 'signaling')
    this.spawn(c, true)
    this.armConnectTimer(c)
  }

  private armConnectTimer(c: PeerConn): void {
    if (c.connectTimer) clearTimeout(c.connectTimer)
    c.connectTimer = setTimeout(() => {
      c.connectTimer = undefined
      if (!c.link) this.fail(c, 'PEER_UNREACHABLE', 'no data channel in time')
    }, this.o.connectTimeoutMs ?? 15_000)
  }

  private spawn(c: PeerConn, initiator: boolean): SimplePeerInstance {
    const sp = new this.o.SimplePeer({
      initiator,
      trickle: true,
      // text messages stay strings: they are the link's control messages, never frames
      objectMode: true,
      channelConfig: { ordered: true },
      config: {
        iceServers: this.o.iceServers ?? [],
        ...(this.o.iceTransportPolicy ? { iceTransportPolicy: this.o.iceTransportPolicy } : {}),
      },
      ...(this.o.wrtc ? { wrtc: this.o.wrtc } : {}),
    })
    const attempt = c.attempt
    c.sp = sp
    sp.on('signal', (data) => {
      if (c.sp !== sp) return
      if (data.candidate && this.o.candidateFilter && !this.o.candidateFilter(data.candidate.candidate))
        return
      const out = this.filterSdp(data)
      this.sendSignal(c, { kind: signalKind(out), attempt, payload: { instance: this.instance, sp: out } })
    })
    sp.on('connect', () => {
      if (c.sp !== sp) return
      this.opened(c, sp)
    })
    sp.on('data', (data: Uint8Array | string) => {
      if (typeof data === 'string') {
        this.onControl(c, sp, data)
        return
      }
      if (c.sp !== sp) return
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      if (c.link) c.link.deliver(frame)
      else if (c.early.length < MAX_EARLY_FRAMES) c.early.push(frame)
      else this.fail(c, 'PEER_UNREACHABLE', 'too many frames before the channel opened')
    })
    sp.on('error', (err) => {
      if (c.sp === sp) this.fail(c, c.link ? 'LINK_LOST' : 'PEER_UNREACHABLE', err.code ?? err.message)
      else this.reap(sp)
    })
    sp.on('close', () => {
      if (c.sp === sp) this.fail(c, 'LINK_LOST', 'data channel closed')
      else this.reap(sp)
    })
    if (c.state !== 'signaling') this.setState(c, 'signaling')
    return sp
  }

  private opened(c: PeerConn, sp: SimplePeerInstance): void {
    if (c.connectTimer) clearTimeout(c.connectTimer)
    c.connectTimer = undefined
    const pc = sp._pc
    const link = new WebRtcLink(
      c.peer,
      c.offerer,
      linkMaxMessageSize(pc),
      sp,
      {
        local: fingerprintsFromSdp(pc?.localDescription?.sdp),
        remote: fingerprintsFromSdp(pc?.remoteDescription?.sdp),
      },
      (l, code, reason) => {
        if (c.link === l) this.teardown(c, code, reason, c.wanted, true)
      },
    )
    c.link = link
    c.state = 'open'
    c.failures = 0
    c.waits = 0
    this.links.emit('link', link)
    const early = c.early
    c.early = []
    for (const f of early) link.deliver(f)
  }

  private onSignal(ev: SignalEvent): void {
    if (!this.running || ev.room !== this.o.room) return
    const peer = safeId(ev.from)
    if (!peer || peer === this.local) return
    const d = ev.data
    const c = this.conn(peer)
    if (d.linkId !== linkIdOf(this.local!, peer)) return
    const env = (d.payload && typeof d.payload === 'object' ? d.payload : {}) as Partial<SignalEnvelope>
    if (d.kind === 'connect-request') {
      if (!c.offerer) return
      c.wanted = true
      if (c.link && !c.link.closed) {
        // The peer asks only when it has no link. A request from the instance we linked with
        // that has not seen our current attempt crossed our offer: ignore it. Otherwise the
        // link is dead on its side (it lost it, or restarted as a new instance).
        const sameInstance = typeof env.instance === 'string' && env.instance === c.peerInstance
        if (sameInstance && (env.seen ?? 0) < c.attempt) return
      } else if (c.sp && !c.sp.destroyed && Date.now() - c.attempt < 2000) {
        return // an attempt younger than 2 s is left to finish
      }
      this.teardown(c, 'LINK_CLOSED', 'peer asked for a new link', false)
      c.failures = 0
      this.offer(c)
      return
    }
    if (c.offerer) {
      // answers and candidates of our current attempt only
      if (d.attempt !== c.attempt || !c.sp || c.sp.destroyed) return
      if (typeof env.instance === 'string') c.peerInstance = env.instance
      this.feed(c, env.sp)
      return
    }
    if (d.attempt < c.attempt) return // an older attempt
    if (d.attempt > c.attempt) {
      if (d.kind !== 'offer') return // candidates of an attempt whose offer we have not seen
      this.teardown(c, 'LINK_CLOSED', 'superseded by a newer attempt', false)
      c.attempt = d.attempt
      c.wanted = true
      this.spawn(c, false)
      this.armConnectTimer(c)
    }
    if (c.sp && !c.sp.destroyed) this.feed(c, env.sp)
  }

  private feed(c: PeerConn, payload: SimplePeerSignal | undefined): void {
    if (!payload || typeof payload !== 'object') return
    if (
      payload.candidate &&
      this.o.candidateFilter &&
      !this.o.candidateFilter(String(payload.candidate.candidate ?? ''))
    )
      return
    try {
      c.sp!.signal(this.filterSdp(payload))
    } catch (e) {
      this.fail(c, 'PEER_UNREACHABLE', `bad signal: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  /** Candidates can also sit in an SDP (`a=candidate:` lines): the filter applies to them too. */
  private filterSdp(data: SimplePeerSignal): SimplePeerSignal {
    const keep = this.o.candidateFilter
    if (!keep || typeof data.sdp !== 'string') return data
    const sdp = data.sdp
      .split('\r\n')
      .filter((line) => !line.startsWith('a=candidate:') || keep(line.slice(2)))
      .join('\r\n')
    return { ...data, sdp }
  }

  private sendSignal(c: PeerConn, data: Omit<SignalData, 'linkId'>): void {
    const full: SignalData = { linkId: linkIdOf(this.local!, c.peer), ...data } as SignalData
    // what this signal belongs to: the offer's simple-peer, or the connect-request's time
    const sp = c.sp
    const attempt = c.attempt
    const request = c.lastRequest
    this.o.signaling.signal(this.o.room, c.peer, full).catch((e: unknown) => {
      // The peer is not in the room (yet): this attempt cannot succeed, so end it now rather
      // than at the connect timeout; it is retried when the peer joins (presence), and after
      // a backoff as a safety net, without counting against maxAttempts. Otherwise the server
      // may be away: the attempt times out and is retried.
      const code = (e as { code?: unknown } | undefined)?.code
      if (code !== 'PEER_NOT_IN_ROOM' || c.link || c.sp !== sp || c.attempt !== attempt) return
      if (!sp && (!c.connectTimer || c.lastRequest !== request)) return // not the one under way
      const reason = `${c.peer.slice(0, 16)}… is not in room ${this.o.room}`
      this.teardown(c, 'PEER_UNREACHABLE', reason, c.wanted, false, false)
    })
  }

  /** A control message from the far end of `sp`. */
  private onControl(c: PeerConn, sp: SimplePeerInstance, text: string): void {
    const m = parseLinkControl(text)
    if (m?.type !== 'close') return // a newer version's message: not for this code
    // the far end has stopped sending on this channel: close it now, which tells the far end
    // (waiting for that) to close its side too
    if (c.sp === sp) this.fail(c, 'LINK_LOST', 'closed by the peer')
    else this.reap(sp)
  }

  /** An attempt or an open link failed: tear down and retry with backoff. */
  private fail(c: PeerConn, code: ErrorCode, reason: string): void {
    this.teardown(c, code, reason, c.wanted)
  }

  /**
   * Drop the current attempt or link of `c`. `graceful`: the far end may be sending on an open
   * link (we close it on purpose), so tell it and let it close first (see the module comment);
   * otherwise the far end has no link to us any more and the connection is closed at once.
   */
  private teardown(
    c: PeerConn,
    code: ErrorCode,
    reason: string,
    retry: boolean,
    graceful = false,
    counts = true,
  ): void {
    if (c.connectTimer) clearTimeout(c.connectTimer)
    c.connectTimer = undefined
    const sp = c.sp
    c.sp = undefined
    const link = c.link
    c.link = undefined
    c.early = []
    if (sp && graceful && link && !sp.destroyed) this.retire(sp)
    else if (sp) destroy(sp)
    link?.markClosed(code, reason)
    if (!retry || !this.running) {
      if (c.retryTimer) clearTimeout(c.retryTimer)
      c.retryTimer = undefined
      this.setState(c, 'closed', { code, reason })
      return
    }
    // a peer not in the room yet is not a failure of the path: waiting for it does not use up
    // maxAttempts (its presence starts the next attempt); the safety retries back off on their
    // own count, up to the backoff's maximum (10 s by default), while it stays wanted
    if (counts) c.failures++
    else c.waits++
    const max = this.o.maxAttempts ?? 10
    if (c.failures > max && !this.o.persistentPeers?.has(c.peer)) {
      this.giveUp(c, code, `gave up after ${max} attempts: ${reason}`)
      return
    }
    const delay = backoffDelay((counts ? c.failures : c.waits) - 1, this.o.backoff)
    this.setState(c, 'backoff', { code, reason, retryInMs: delay })
    if (c.retryTimer) clearTimeout(c.retryTimer)
    c.retryTimer = setTimeout(() => {
      c.retryTimer = undefined
      if (this.running && c.wanted && !c.link) this.want(c.peer, true)
    }, delay)
  }

  /** Stop sending on `sp`, ask the far end to close, and close it when it has (or in time). */
  private retire(sp: SimplePeerInstance): void {
    try {
      sp.send(CLOSE_NOTICE)
    } catch {
      destroy(sp) // the channel is gone already
      return
    }
    const timer = setTimeout(() => this.reap(sp), CLOSE_GRACE_MS)
    this.closing.set(sp, timer)
  }

  /** Close a retired connection (the far end closed it, or its grace ran out). */
  private reap(sp: SimplePeerInstance): void {
    const timer = this.closing.get(sp)
    if (timer === undefined) return
    clearTimeout(timer)
    this.closing.delete(sp)
    destroy(sp)
  }

  private giveUp(c: PeerConn, code: ErrorCode, reason: string): void {
    c.wanted = false
    if (c.retryTimer) clearTimeout(c.retryTimer)
    c.retryTimer = undefined
    if (c.sp) destroy(c.sp)
    c.sp = undefined
    this.setState(c, 'closed', { code, reason })
  }
}

/**
 * Destroy a simple-peer, then make sure its RTCPeerConnection is closed (wrtc otherwise keeps
 * Node alive). simple-peer closes the data channel and then the connection in a microtask; the
 * connection is closed again only after that, never before: wrtc tears a channel down on its
 * signaling thread once its connection is closed, and `channel.close()` running on the JS
 * thread meanwhile would race it (as `send()` does, see the module comment).
 */
function destroy(sp: SimplePeerInstance): void {
  const pc = sp._pc
  try {
    sp.destroy()
  } catch {
    // already destroyed
  }
  if (!pc) return
  setTimeout(() => {
    try {
      pc.close()
    } catch {
      // already closed
    }
  }, 0)
}

function signalKind(data: SimplePeerSignal): SignalData['kind'] {
  if (data.type === 'offer') return 'offer'
  if (data.type === 'answer') return 'answer'
  if (data.candidate) return 'candidate'
  return 'renegotiate'
}

function linkIdOf(a: PartyId, b: PartyId): string {
  return a < b ? `${a.slice(0, 16)}:${b.slice(0, 16)}` : `${b.slice(0, 16)}:${a.slice(0, 16)}`
}

function safeId(v: string): PartyId | undefined {
  try {
    return parsePartyId(v)
  } catch {
    return undefined
  }
}
