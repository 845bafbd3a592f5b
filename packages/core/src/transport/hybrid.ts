/**
 * The `hybrid` transport (DESIGN "Delivery": transport modes): WebRTC first, and the relay
 * through the signaling server while a direct link can't be had, unless a webrtc handshake with
 * that peer failed with evidence against the signaling path (`path-evidence.ts`).
 *
 * Per peer:
 * - a webrtc attempt starts (by `connect`, or by the webrtc transport's `autoConnect`); when no
 *   webrtc link is up `fallbackAfterMs` later, or as soon as the attempt fails (webrtc reports
 *   `backoff`, or gives up), a relay link is opened;
 * - when a webrtc link comes up it is announced first; the relay link is then closed: at once if
 *   no frame has come through it yet, else when the party replaces it by the newer ready link
 *   (its session host closes the older link), at the latest `switchGraceMs` later. While a webrtc
 *   link is up the relay refuses new links from that peer. Frames are opaque here: a relay link
 *   that carried only a handshake is left to the party to replace, like a busy one;
 * - after webrtc gave up on a peer reached through the relay, webrtc is tried again every
 *   `upgradeRetryMs`;
 * - a webrtc link closed with a code that is evidence against the signaling path
 *   (`FINGERPRINT_MISMATCH`, `HANDSHAKE_BAD_SIGNATURE` …: {@link isPathEvidence}) blocks relay
 *   fallback to that peer for the transport's life (the signaling server is presumed hostile),
 *   as does {@link HybridTransport.blockRelay}, which the party calls on its `alarm` event.
 *
 * Every link keeps its own `kind` (`webrtc` or `relay`), and with it its own handshake, keys and
 * traffic counters at the party.
 * @module
 */
import { ConclaveError } from '../errors.ts'
import { Emitter } from '../events.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { DialPolicy } from './connection-manager.ts'
import { isPathEvidence } from './path-evidence.ts'
import { createRelayTransport, type RelayTransport, type RelayTransportOptions } from './relay.ts'
import type { Link, LinkState, LinkStateEvent, PathHint, Transport, TransportKind } from './types.ts'
import { createWebRtcTransport, type WebRtcTransportOptions } from './webrtc.ts'

/** Why a relay link to a peer is refused or closed once {@link HybridTransport.blockRelay} ran. */
const RELAY_BLOCKED = 'relay blocked: the signaling path was caught tampering with a direct link to this peer'

/** Options of {@link createHybridTransport}. */
export interface HybridTransportOptions {
  /** A started (or starting) signaling client, shared by both paths. */
  signaling: WebRtcTransportOptions['signaling'] & RelayTransportOptions['signaling']
  /** The room whose parties this transport links to. */
  room: string
  /**
   * Options of the webrtc path (`SimplePeer`, `wrtc`, ICE servers, candidate filter, backoff …),
   * or `false` for none: every link then goes through the relay.
   */
  webrtc: Omit<WebRtcTransportOptions, 'signaling' | 'room' | 'autoConnect'> | false
  /** Options of the relay path (pacing, backoff, attempts …). */
  relay?: Omit<RelayTransportOptions, 'signaling' | 'room' | 'autoConnect' | 'acceptFrom'>
  /**
   * Peers both paths retry forever (the roster). A peer in the webrtc or the relay path's own
   * `persistentPeers` is persistent on both paths too.
   */
  persistentPeers?: DialPolicy['persistentPeers']
  /** Link automatically to every party that joins the room. @default true */
  autoConnect?: boolean
  /** Time a webrtc attempt gets before the relay is opened alongside it. @default 3000 */
  fallbackAfterMs?: number
  /** Longest time a busy relay link stays open once a webrtc link is up. @default 10000 */
  switchGraceMs?: number
  /** While on the relay after webrtc gave up, try webrtc again this often. @default 30000 */
  upgradeRetryMs?: number
}

/** The hybrid transport. */
export interface HybridTransport extends Transport {
  /** The webrtc path (undefined with `webrtc: false`). */
  readonly webrtc: Transport | undefined
  /** The relay path. */
  readonly relay: RelayTransport
  /**
   * Never relay to `peer` again (for this transport's life): closes a relay link to it, cancels
   * fallback, and refuses relay links it opens. `createParty` calls it on every `alarm` event;
   * the transport also does so by itself when a webrtc link to the peer is closed with a code
   * that is evidence against the signaling path ({@link isPathEvidence}).
   * @example
   * ```ts
   * party.on('alarm', (ev) => transport.blockRelay(ev.peer)) // what createParty does
   * ```
   */
  blockRelay(peer: PartyId): void
  /** True once relay fallback to `peer` is blocked. */
  isRelayBlocked(peer: PartyId): boolean
}

/**
 * Create the hybrid transport: webrtc first, the relay while a direct link can't be had.
 * @example
 * ```ts
 * const transport = createHybridTransport({
 *   signaling, room,
 *   webrtc: { SimplePeer, wrtc, candidateFilter: loopbackOnly },
 * })
 * const party = createParty({ identity, crypto, transport }) // blocks the relay on its alarms
 * ```
 * @throws ConclaveError `INVALID_ARGUMENT` without `signaling`, `room` or `webrtc`
 */
export function createHybridTransport(options: HybridTransportOptions): HybridTransport {
  return new HybridTransportImpl(options)
}

interface HybridPeer {
  peer: PartyId
  rtcLink: Link | undefined
  relayLink: Link | undefined
  /**
   * The relay link has delivered a frame: a handshake has begun on it, so it may carry traffic
   * (frames are opaque here: which frame is which is the secure channel's business).
   */
  relayBusy: boolean
  /** The webrtc path's last reported state for this peer. */
  rtcState: LinkState | undefined
  fallbackTimer: ReturnType<typeof setTimeout> | undefined
  graceTimer: ReturnType<typeof setTimeout> | undefined
  upgradeTimer: ReturnType<typeof setTimeout> | undefined
}

class HybridTransportImpl implements HybridTransport {
  readonly kind: TransportKind
  readonly webrtc: Transport | undefined
  readonly relay: RelayTransport
  private running = false
  private readonly peers = new Map<PartyId, HybridPeer>()
  private readonly blocked = new Set<PartyId>()
  private readonly links = new Emitter<{ link: Link }>()
  private readonly states = new Emitter<{ state: LinkStateEvent }>()
  private readonly offs: (() => void)[] = []

  constructor(private readonly o: HybridTransportOptions) {
    if (!o || !o.signaling || typeof o.room !== 'string' || o.webrtc === undefined) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        'createHybridTransport expected { signaling, room, webrtc: options | false }',
      )
    }
    // one roster for both paths: a roster peer is retried forever on the relay too
    const rosters = [
      o.persistentPeers,
      o.webrtc ? o.webrtc.persistentPeers : undefined,
      o.relay?.persistentPeers,
    ]
    const persistentPeers = { has: (peer: PartyId) => rosters.some((r) => r?.has(peer) === true) }
    this.webrtc = o.webrtc
      ? createWebRtcTransport({
          ...o.webrtc,
          persistentPeers,
          signaling: o.signaling,
          room: o.room,
          autoConnect: o.autoConnect ?? true,
        })
      : undefined
    this.relay = createRelayTransport({
      ...o.relay,
      persistentPeers,
      signaling: o.signaling,
      room: o.room,
      // with webrtc, the relay opens only as a fallback, decided here
      autoConnect: this.webrtc ? false : (o.autoConnect ?? true),
      acceptFrom: (peer) => !this.blocked.has(peer) && !open(this.peers.get(peer)?.rtcLink),
    })
    this.kind = this.webrtc ? 'webrtc' : 'relay'
  }

  onLink(handler: (link: Link) => void): () => void {
    return this.links.on('link', handler)
  }

  /**
   * States before a link exists: the webrtc path's (the relay's with `webrtc: false`). A peer
   * with an open relay link gets no webrtc states: it is reachable, webrtc retries quietly.
   */
  onState(handler: (event: LinkStateEvent) => void): () => void {
    return this.states.on('state', handler)
  }

  async start(local: PartyId, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.running) return
    this.running = true
    const rtc = this.webrtc
    this.offs.push(
      this.relay.onLink((l) => this.onRelayLink(l)),
      this.relay.onState?.((ev) => {
        if (!rtc) this.states.emit('state', ev)
      }) ?? noop,
    )
    if (rtc) {
      this.offs.push(
        rtc.onLink((l) => this.onRtcLink(l)),
        rtc.onState?.((ev) => this.onRtcState(ev)) ?? noop,
      )
    }
    await Promise.all([rtc?.start(local, opts), this.relay.start(local, opts)])
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const off of this.offs.splice(0)) off()
    for (const hp of this.peers.values()) {
      for (const t of [hp.fallbackTimer, hp.graceTimer, hp.upgradeTimer]) if (t) clearTimeout(t)
      hp.fallbackTimer = hp.graceTimer = hp.upgradeTimer = undefined
    }
    this.peers.clear()
    await Promise.all([this.webrtc?.stop(), this.relay.stop()])
  }

  async connect(peer: PartyId): Promise<void> {
    if (!this.running) throw new ConclaveError('NOT_STARTED', 'hybrid transport not started')
    const id = parsePartyId(peer)
    if (!this.webrtc) {
      if (!this.blocked.has(id)) await this.relay.connect(id)
      return
    }
    const hp = this.peer(id)
    await this.webrtc.connect(id)
    if (!open(hp.rtcLink)) this.armFallback(hp)
  }

  blockRelay(peer: PartyId): void {
    const id = parsePartyId(peer)
    this.blocked.add(id)
    this.relay.release(id)
    const hp = this.peers.get(id)
    if (!hp) return
    if (hp.fallbackTimer) clearTimeout(hp.fallbackTimer)
    hp.fallbackTimer = undefined
    hp.relayLink?.close('LINK_CLOSED', RELAY_BLOCKED)
  }

  isRelayBlocked(peer: PartyId): boolean {
    return this.blocked.has(peer)
  }

  /** The webrtc path's (a lost direct path then falls back to the relay as any failure does). */
  pathHint(hint: PathHint): void {
    if (this.running) this.webrtc?.pathHint?.(hint)
  }

  private peer(id: PartyId): HybridPeer {
    let hp = this.peers.get(id)
    if (!hp) {
      hp = {
        peer: id,
        rtcLink: undefined,
        relayLink: undefined,
        relayBusy: false,
        rtcState: undefined,
        fallbackTimer: undefined,
        graceTimer: undefined,
        upgradeTimer: undefined,
      }
      this.peers.set(id, hp)
    }
    return hp
  }

  // ── webrtc path ───────────────────────────────────────────────────────────────────────

  private onRtcState(ev: LinkStateEvent): void {
    if (!this.running) return
    const hp = this.peer(ev.peer)
    hp.rtcState = ev.state
    if (!open(hp.rtcLink)) {
      if (ev.state === 'signaling' || ev.state === 'connecting') this.armFallback(hp)
      else if (ev.state === 'backoff') this.fallbackNow(hp)
      else if (ev.state === 'closed' && ev.code !== undefined && ev.code !== 'LINK_CLOSED') {
        // webrtc gave up on this peer
        this.fallbackNow(hp)
        this.scheduleUpgrade(hp)
      }
    }
    if (!open(hp.relayLink)) this.states.emit('state', ev)
  }

  private onRtcLink(link: Link): void {
    if (!this.running) {
      link.close('LINK_CLOSED', 'transport stopped')
      return
    }
    const hp = this.peer(link.peer)
    hp.rtcLink = link
    for (const t of [hp.fallbackTimer, hp.upgradeTimer]) if (t) clearTimeout(t)
    hp.fallbackTimer = hp.upgradeTimer = undefined
    this.relay.release(link.peer)
    link.onClose((code) => {
      if (hp.rtcLink !== link) return
      hp.rtcLink = undefined
      if (hp.graceTimer) clearTimeout(hp.graceTimer)
      hp.graceTimer = undefined
      if (isPathEvidence(link.kind, code)) this.blockRelay(link.peer)
      // webrtc retries by itself (and reports backoff: fallback now); in case it does not
      else if (this.running) this.armFallback(hp)
    })
    this.links.emit('link', link)
    // the new link is announced: now retire the relay link
    const relay = hp.relayLink
    if (!open(relay)) return
    if (!hp.relayBusy) {
      relay.close('LINK_CLOSED', 'a webrtc link took over')
      return
    }
    // busy: the party switches to the newer link once its handshake is done and closes this one
    hp.graceTimer = setTimeout(() => {
      hp.graceTimer = undefined
      if (hp.relayLink === relay && open(hp.rtcLink)) relay.close('LINK_CLOSED', 'a webrtc link took over')
    }, this.o.switchGraceMs ?? 10_000)
  }

  private armFallback(hp: HybridPeer): void {
    if (!this.running || hp.fallbackTimer || this.blocked.has(hp.peer)) return
    if (open(hp.rtcLink) || open(hp.relayLink)) return
    hp.fallbackTimer = setTimeout(() => {
      hp.fallbackTimer = undefined
      this.fallbackNow(hp)
    }, this.o.fallbackAfterMs ?? 3000)
  }

  private fallbackNow(hp: HybridPeer): void {
    if (hp.fallbackTimer) clearTimeout(hp.fallbackTimer)
    hp.fallbackTimer = undefined
    if (!this.running || this.blocked.has(hp.peer) || open(hp.rtcLink)) return
    this.relay.connect(hp.peer).catch(noop)
  }

  /** webrtc gave up on a peer: try it again later while the relay carries the traffic. */
  private scheduleUpgrade(hp: HybridPeer): void {
    const rtc = this.webrtc
    if (!rtc || hp.upgradeTimer || !open(hp.relayLink)) return
    hp.upgradeTimer = setTimeout(() => {
      hp.upgradeTimer = undefined
      if (this.running && !open(hp.rtcLink) && hp.rtcState === 'closed' && open(hp.relayLink))
        rtc.connect(hp.peer).catch(noop)
    }, this.o.upgradeRetryMs ?? 30_000)
  }

  // ── relay path ────────────────────────────────────────────────────────────────────────

  private onRelayLink(link: Link): void {
    if (!this.running) {
      link.close('LINK_CLOSED', 'transport stopped')
      return
    }
    if (this.blocked.has(link.peer)) {
      link.close('LINK_CLOSED', RELAY_BLOCKED)
      return
    }
    const hp = this.peer(link.peer)
    if (open(hp.rtcLink)) {
      link.close('LINK_CLOSED', 'a webrtc link is up')
      return
    }
    if (hp.fallbackTimer) clearTimeout(hp.fallbackTimer)
    hp.fallbackTimer = undefined
    hp.relayLink = link
    hp.relayBusy = false
    link.onMessage(() => {
      if (hp.relayLink === link) hp.relayBusy = true
    })
    link.onClose(() => {
      if (hp.relayLink !== link) return
      hp.relayLink = undefined
      if (hp.graceTimer) clearTimeout(hp.graceTimer)
      hp.graceTimer = undefined
    })
    this.links.emit('link', link)
    if (hp.rtcState === 'closed') this.scheduleUpgrade(hp)
  }
}

function open(link: Link | undefined): link is Link {
  return link !== undefined && !link.closed
}

function noop(): void {}
