/**
 * The `webrtc` transport: direct data channels (simple-peer over an injected
 * RTCPeerConnection) negotiated through the signaling server (DESIGN "Connections"). It is the
 * webrtc path of the connection manager (`connection-manager.ts`: wanted peers, attempts,
 * backoff, presence); the negotiation rules are `negotiation.ts` (who offers, which signal
 * wins), the teardown workarounds `rtc-teardown.ts`, SDP and candidates `sdp.ts`, and the
 * link itself `webrtc-link.ts`. Here: one simple-peer per attempt (simple-peer has no ICE
 * restart, so every attempt is a new RTCPeerConnection), its events, and signals in and out.
 * No STUN/TURN server unless configured; `iceServers` may be a function, asked for each attempt
 * before its RTCPeerConnection is made (`ice-servers.ts`): signals of the attempt that arrive
 * meanwhile wait for it.
 * @module
 */

import { ConclaveError, type ErrorCode } from '../errors.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { SignalingClient } from '../signaling/client.ts'
import type { SignalData, SignalEvent } from '../signaling/protocol.ts'
import { ConnectionManager, type DialPolicy, type DialRecord, safePartyId } from './connection-manager.ts'
import { DialingTransport } from './dialing-transport.ts'
import { checkIceServersOption, type IceServersOption, iceServersFor } from './ice-servers.ts'
import {
  envelopeOf,
  judgeSignal,
  linkIdOf,
  newInstanceId,
  nextAttempt,
  offers,
  REQUEST_INTERVAL_MS,
  type SignalEnvelope,
  signalKind,
} from './negotiation.ts'
import { checkPathWatchOptions, type PathWatchOptions } from './path-watch.ts'
import { destroyPeer, parseLinkControl, Retirements } from './rtc-teardown.ts'
import { filterCandidates, fingerprintsFromSdp, linkMaxMessageSize } from './sdp.ts'
import type { SimplePeerConstructor, SimplePeerInstance, SimplePeerSignal } from './simple-peer-types.ts'
import type { LinkState, LinkStateEvent, PathHint, Transport } from './types.ts'
import { WebRtcLink } from './webrtc-link.ts'

export { linkMaxMessageSize, loopbackOnly } from './sdp.ts'
export { CHANNEL_HIGH_WATER } from './webrtc-link.ts'

/** Options of {@link createWebRtcTransport}. */
export interface WebRtcTransportOptions extends DialPolicy, PathWatchOptions {
  /** A started (or starting) signaling client. */
  signaling: Pick<SignalingClient, 'on' | 'signal' | 'join' | 'ready' | 'partyId'>
  /** The room whose parties this transport links to. */
  room: string
  /** simple-peer's constructor (the package in Node, its prebuilt bundle in browsers). */
  SimplePeer: SimplePeerConstructor
  /** `{ RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }` (@roamhq/wrtc in Node); omit in browsers. */
  wrtc?: unknown
  /**
   * ICE servers: a list, or a function called for each new connection attempt (on both ends of
   * the link) that may be async, e.g. to mint time-limited TURN credentials
   * (`turnRestCredentials`) per attempt. A function that throws, rejects or gives a bad
   * list fails that attempt with `ICE_SERVERS_UNAVAILABLE` (retried with backoff).
   * @default [] — never a public STUN/TURN host
   */
  iceServers?: IceServersOption
  /** @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Keep only the ICE candidates (local and remote) for which this returns true (e.g. loopback in tests). */
  candidateFilter?: (candidate: string) => boolean
  /** Link automatically to every party that joins the room. @default true */
  autoConnect?: boolean
  /** Time for one attempt to open a data channel. @default 15000 */
  connectTimeoutMs?: number
}

const MAX_EARLY_FRAMES = 64
/** Signals of one attempt kept while its ICE servers are being asked for (offer and candidates). */
const MAX_WAITING_SIGNALS = 256

/** An attempt whose ICE servers are being asked for: its RTCPeerConnection is not made yet. */
interface Preparing {
  /** The peer's signals of this attempt that arrived meanwhile, fed once it is made. */
  signals: SimplePeerSignal[]
}

/** The webrtc path's record of one peer. */
interface PeerConn extends DialRecord {
  /** The peer's transport instance on the current attempt (from its answer). */
  peerInstance: string | undefined
  /** Frames that arrived before simple-peer's `connect` (the far end may open first). */
  early: Uint8Array[]
  /** We offer when our id is the smaller. */
  offerer: boolean
  sp: SimplePeerInstance | undefined
  /** The attempt under way is waiting for its ICE servers (`sp` is then undefined). */
  preparing: Preparing | undefined
  link: WebRtcLink | undefined
  /** The last state reported (`open` once a link is announced). */
  state: LinkState | 'open'
  connectTimer: ReturnType<typeof setTimeout> | undefined
  lastRequest: number
}

/** Create the webrtc transport. */
export function createWebRtcTransport(options: WebRtcTransportOptions): Transport {
  return new WebRtcTransport(options)
}

class WebRtcTransport extends DialingTransport<PeerConn> implements Transport {
  readonly kind = 'webrtc' as const
  private local: PartyId | undefined
  protected readonly manager: ConnectionManager<PeerConn>
  private readonly offs: (() => void)[] = []
  private running = false
  /** This transport's instance id (random per start). */
  private instance = ''
  private readonly retirements = new Retirements()

  constructor(private readonly o: WebRtcTransportOptions) {
    super()
    if (!o || !o.signaling || !o.SimplePeer || typeof o.room !== 'string') {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        'createWebRtcTransport expected { signaling, room, SimplePeer }',
      )
    }
    if (o.iceServers !== undefined) checkIceServersOption(o.iceServers)
    checkPathWatchOptions(o)
    this.manager = new ConnectionManager<PeerConn>(
      {
        create: (peer) => ({
          peerInstance: undefined,
          early: [],
          offerer: offers(this.local!, peer),
          sp: undefined,
          preparing: undefined,
          link: undefined,
          state: 'idle',
          connectTimer: undefined,
          lastRequest: 0,
        }),
        busy: (c) => (c.link !== undefined && !c.link.closed) || underWay(c),
        dial: (c) => (c.offerer ? this.offer(c) : this.requestOffer(c)),
        abandon: (c) => {
          if (c.sp) destroyPeer(c.sp)
          c.sp = undefined
          c.preparing = undefined
        },
        // keep an open link (the server may be restarting); just stop retrying: once it closes,
        // a peer that left is dialled again when it comes back (presence) or is asked for, not
        // every backoff for ever (#16 item 12: a long-running party retried every party that
        // ever left every 10 s, until the server cut it for its rate); roster peers stay wanted
        left: (c) => {
          if (!c.link) this.manager.giveUp(c, 'PEER_UNREACHABLE', 'left the room')
          else if (!this.o.persistentPeers?.has(c.peer)) this.manager.release(c)
        },
      },
      { ...o, running: () => this.running, local: () => this.local },
    )
    this.manager.onState((ev) => {
      const c = this.manager.get(ev.peer)
      if (c) c.state = ev.state
    })
  }

  async start(local: PartyId, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.running) return
    this.local = local
    this.running = true
    this.instance = newInstanceId()
    const sig = this.o.signaling
    this.offs.push(
      sig.on('signal', (ev) => this.onSignal(ev)),
      this.manager.watchRoom(sig, this.o.room),
    )
    await sig.ready(opts)
    const peers = await sig.join(this.o.room, opts)
    this.manager.inRoom(peers.map((p) => p.partyId))
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const off of this.offs.splice(0)) off()
    for (const c of this.manager.all()) this.teardown(c, 'LINK_CLOSED', 'transport stopped', false, true)
    this.manager.clear()
    // give the far ends a moment to stop sending and close (bounded), then close the rest
    await this.retirements.drain()
  }

  async connect(peer: PartyId): Promise<void> {
    if (!this.running) throw new ConclaveError('NOT_STARTED', 'webrtc transport not started')
    this.manager.connect(parsePartyId(peer), true)
  }

  /** Links whose path is gone close with `PATH_LOST` (`path-watch.ts`); backoffs are cut short. */
  pathHint(hint: PathHint): void {
    if (!this.running) return
    for (const c of this.manager.all()) c.link?.checkPath(hint)
    this.manager.retryNow()
  }

  private setState(c: PeerConn, state: LinkState, extra: Partial<LinkStateEvent> = {}): void {
    this.manager.emit(c, state, extra)
  }

  private requestOffer(c: PeerConn): void {
    const t = Date.now()
    if (t - c.lastRequest < REQUEST_INTERVAL_MS) {
      // asked a moment ago: ask again when the moment is over (not never)
      if (!c.connectTimer && !c.retryTimer) {
        c.retryTimer = setTimeout(
          () => {
            c.retryTimer = undefined
            if (this.running && c.wanted && !c.link) this.manager.want(c.peer, true)
          },
          REQUEST_INTERVAL_MS - (t - c.lastRequest),
        )
      }
      return
    }
    c.lastRequest = t
    this.setState(c, 'signaling')
    this.sendSignal(c, {
      kind: 'connect-request',
      attempt: c.attempt,
      payload: { instance: this.instance, seen: c.attempt } satisfies SignalEnvelope,
    })
    // if no offer comes, ask again later
    this.armConnectTimer(c)
  }

  private offer(c: PeerConn): void {
    c.attempt = nextAttempt(c.attempt, Date.now())
    this.setState(c, 'signaling')
    this.spawn(c, true)
    this.armConnectTimer(c)
  }

  private armConnectTimer(c: PeerConn): void {
    if (c.connectTimer) clearTimeout(c.connectTimer)
    c.connectTimer = setTimeout(() => {
      c.connectTimer = undefined
      if (c.link) return
      // the attempt's time includes asking for its ICE servers: a function that does not
      // answer fails it like one that throws (its late answer is then dropped)
      if (c.preparing)
        this.fail(c, 'ICE_SERVERS_UNAVAILABLE', 'the iceServers function did not answer in time')
      else this.fail(c, 'PEER_UNREACHABLE', 'no data channel in time')
    }, this.o.connectTimeoutMs ?? 15_000)
  }

  /**
   * Start the attempt's RTCPeerConnection: at once with a list of ICE servers; with a function,
   * once it has given this attempt's list (the attempt is `preparing` meanwhile, and fails with
   * `ICE_SERVERS_UNAVAILABLE` if the function does). A teardown in between drops the attempt.
   */
  private spawn(c: PeerConn, initiator: boolean): void {
    if (c.state !== 'signaling') this.setState(c, 'signaling')
    const servers = iceServersFor(this.o.iceServers, c.peer)
    if (Array.isArray(servers)) {
      this.makePeer(c, initiator, servers)
      return
    }
    const preparing: Preparing = { signals: [] }
    c.preparing = preparing
    servers.then(
      (list) => {
        if (c.preparing !== preparing || !this.running) return
        c.preparing = undefined
        try {
          this.makePeer(c, initiator, list)
        } catch (e) {
          // in a promise callback a throw would go unhandled: the attempt fails instead
          const why = `RTCPeerConnection refused the ICE servers: ${e instanceof Error ? e.message : String(e)}`
          this.fail(c, 'ICE_SERVERS_UNAVAILABLE', why)
          return
        }
        for (const signal of preparing.signals) this.feed(c, signal)
      },
      (e: unknown) => {
        if (c.preparing !== preparing || !this.running) return
        c.preparing = undefined
        this.fail(c, 'ICE_SERVERS_UNAVAILABLE', e instanceof Error ? e.message : String(e))
      },
    )
  }

  private makePeer(c: PeerConn, initiator: boolean, iceServers: RTCIceServer[]): void {
    const sp = new this.o.SimplePeer({
      initiator,
      trickle: true,
      // text messages stay strings: they are the link's control messages, never frames
      objectMode: true,
      channelConfig: { ordered: true },
      config: {
        iceServers,
        ...(this.o.iceTransportPolicy ? { iceTransportPolicy: this.o.iceTransportPolicy } : {}),
      },
      ...(this.o.wrtc ? { wrtc: this.o.wrtc } : {}),
    })
    const attempt = c.attempt
    c.sp = sp
    sp.on('signal', (data) => {
      if (c.sp !== sp) return
      const out = filterCandidates(data, this.o.candidateFilter)
      if (!out) return
      this.sendSignal(c, {
        kind: signalKind(out),
        attempt,
        payload: { instance: this.instance, sp: out } satisfies SignalEnvelope,
      })
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
      else this.retirements.reap(sp)
    })
    sp.on('close', () => {
      if (c.sp === sp) this.fail(c, 'LINK_LOST', 'data channel closed')
      else this.retirements.reap(sp)
    })
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
      (l) => {
        // the handshake on it completed: only now is the attempt a success (a channel that
        // opens and then fails its handshake, as through a relaying man in the middle, is a
        // failed attempt, so backoff and maxAttempts apply to it)
        if (c.link === l) {
          c.failures = 0
          c.waits = 0
        }
      },
      this.o.disconnectGraceMs,
    )
    c.link = link
    c.state = 'open'
    this.announce(link)
    const early = c.early
    c.early = []
    for (const f of early) link.deliver(f)
  }

  private onSignal(ev: SignalEvent): void {
    if (!this.running || ev.room !== this.o.room) return
    const peer = safePartyId(ev.from)
    if (!peer || peer === this.local) return
    const c = this.manager.record(peer)
    const verdict = judgeSignal(
      {
        local: this.local!,
        peer,
        attempt: c.attempt,
        linked: c.link !== undefined && !c.link.closed,
        underWay: underWay(c),
        peerInstance: c.peerInstance,
        now: Date.now(),
      },
      ev.data,
    )
    const { sp } = envelopeOf(ev.data.payload)
    switch (verdict.action) {
      case 'ignore':
        return
      case 'reoffer':
        c.wanted = true
        this.teardown(c, 'LINK_CLOSED', 'peer asked for a new link', false)
        // A request does not restart the count of failed attempts (a link's handshake does):
        // else a peer that asks again after each failed handshake keeps this side from ever
        // backing off or giving up. Past giving up, each request gets one attempt.
        this.offer(c)
        return
      case 'feed':
        if (verdict.peerInstance !== undefined) c.peerInstance = verdict.peerInstance
        this.feed(c, sp)
        return
      case 'answer':
        this.teardown(c, 'LINK_CLOSED', 'superseded by a newer attempt', false)
        c.attempt = verdict.attempt
        c.wanted = true
        this.spawn(c, false)
        this.armConnectTimer(c)
        this.feed(c, sp)
        return
    }
  }

  private feed(c: PeerConn, payload: SimplePeerSignal | undefined): void {
    if (payload && c.preparing) {
      // the attempt's RTCPeerConnection waits for its ICE servers: so does its signal
      if (c.preparing.signals.length < MAX_WAITING_SIGNALS) c.preparing.signals.push(payload)
      else this.fail(c, 'PEER_UNREACHABLE', 'too many signals before the ICE servers came')
      return
    }
    if (!payload || !c.sp || c.sp.destroyed) return
    const data = filterCandidates(payload, this.o.candidateFilter)
    if (!data) return
    try {
      c.sp.signal(data)
    } catch (e) {
      this.fail(c, 'PEER_UNREACHABLE', `bad signal: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  private sendSignal(c: PeerConn, data: Omit<SignalData, 'linkId'>): void {
    const full: SignalData = { linkId: linkIdOf(this.local!, c.peer), ...data }
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
    // (waiting for that) to close its side too; a link closed to be re-keyed is no failure
    if (c.sp === sp) this.fail(c, m.code === 'REKEY_DUE' ? m.code : 'LINK_LOST', 'closed by the peer')
    else this.retirements.reap(sp)
  }

  /** An attempt or an open link failed: tear down and retry with backoff. */
  private fail(c: PeerConn, code: ErrorCode, reason: string): void {
    this.teardown(c, code, reason, c.wanted)
  }

  /**
   * Drop the current attempt or link of `c`, then let the manager retry (`retry`) or report it
   * closed. `graceful`: the far end may be sending on an open link (we close it on purpose), so
   * tell it and let it close first (`rtc-teardown.ts`); otherwise the far end has no link to
   * us any more and the connection is closed at once. `counts`: see {@link ConnectionManager.retry}.
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
    c.preparing = undefined
    const link = c.link
    c.link = undefined
    c.early = []
    if (sp && graceful && link && !sp.destroyed) this.retirements.retire(sp, code)
    else if (sp) destroyPeer(sp)
    link?.markClosed(code, reason)
    if (retry && this.running) this.manager.retry(c, code, reason, counts)
    else this.manager.closed(c, code, reason)
  }
}

/** An attempt is under way: its RTCPeerConnection is alive, or waits for its ICE servers. */
function underWay(c: PeerConn): boolean {
  return c.preparing !== undefined || (c.sp !== undefined && !c.sp.destroyed)
}
