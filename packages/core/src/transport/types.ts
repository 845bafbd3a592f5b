/**
 * The transport seam (types only). A transport opens links to peers and moves opaque frames;
 * it knows nothing of keys, envelopes or sessions. Implementations: `memory` (tests),
 * `webrtc` (simple-peer), `relay` (through the signaling server), and `hybrid` (webrtc first,
 * the relay as fallback); webrtc and relay dial through the connection manager
 * (`connection-manager.ts`). Each passes the transport compliance suite (`runTransportTests`).
 * @module
 */
import type { ErrorCode } from '../errors.ts'
import type { PartyId } from '../ids.ts'

/** Which kind of path a link uses. */
export type TransportKind = 'memory' | 'webrtc' | 'relay'

/** One bidirectional, ordered, reliable path to one peer, carrying whole frames. */
export interface Link {
  /** Unique for this party's lifetime. */
  readonly id: string
  /** Whom the transport believes is at the other end (the handshake proves it). */
  readonly peer: PartyId
  /** True on the end that offered (the smaller PartyId). */
  readonly initiator: boolean
  readonly kind: TransportKind
  /** Largest frame `send` accepts, header and tag included. */
  readonly maxMessageSize: number
  /** DTLS fingerprints seen on this link (webrtc only). */
  fingerprints(): { local: string[]; remote: string[] } | undefined
  /**
   * Send one frame.
   * @throws ConclaveError `FRAME_TOO_LARGE` over {@link maxMessageSize}, `LINK_CLOSED` once closed
   */
  send(frame: Uint8Array): void
  /** Bytes accepted by `send` and not yet handed to the network. */
  readonly bufferedAmount: number
  onMessage(handler: (frame: Uint8Array) => void): () => void
  onClose(handler: (code: ErrorCode, reason: string) => void): () => void
  close(code?: ErrorCode, reason?: string): void
  readonly closed: boolean
  /**
   * The party's handshake on this link completed (the peer is `ready` on it). A transport that
   * counts failed attempts (webrtc) counts a link as good only from here, not when its channel
   * opened: a link whose handshake fails is a failed attempt, so backoff and give-up apply.
   */
  markReady?(): void
}

/** Connection states a transport reports before a link exists (see DESIGN "Connections"). */
export type LinkState = 'idle' | 'signaling' | 'connecting' | 'backoff' | 'closed'

/** A transport-level state change for one peer. */
export interface LinkStateEvent {
  peer: PartyId
  state: LinkState
  attempt: number
  code?: ErrorCode
  reason?: string
  /** For `backoff`: ms until the next attempt. */
  retryInMs?: number
}

/**
 * A platform's hint that links may have lost their path (DESIGN "Connections"): the network
 * changed (Node: the machine's addresses changed; browsers: `online`), or the page came back
 * (shown again, restored from the back/forward cache, resumed after being frozen).
 */
export interface PathHint {
  reason: 'network' | 'resumed'
  /**
   * The machine's addresses now, when the platform knows them (Node), and those among them that
   * are new since the last hint: a link whose end of the candidate pair in use is not among
   * `addresses` while another address is `added` has lost its path for good (the machine moved
   * to another network).
   */
  addresses?: ReadonlySet<string>
  added?: ReadonlySet<string>
}

/** A transport for one local party. */
export interface Transport {
  readonly kind: TransportKind
  start(local: PartyId, options?: { signal?: AbortSignal }): Promise<void>
  stop(): Promise<void>
  /**
   * Ask for a link to `peer` (idempotent while one is being made or is open). The link is
   * announced through `onLink` on both ends.
   */
  connect(peer: PartyId, options?: { signal?: AbortSignal }): Promise<void>
  /** Every new link, on the end that asked and on the end that was asked. */
  onLink(handler: (link: Link) => void): () => void
  /** States before a link exists (transports that have them). */
  onState?(handler: (event: LinkStateEvent) => void): () => void
  /**
   * Never fall back to the signaling server's relay for `peer` (called by the party on an
   * `alarm`: a webrtc handshake failed with evidence against the signaling path, which is then
   * presumed hostile). Transports with a relay fallback implement it.
   */
  blockRelay?(peer: PartyId): void
  /**
   * The platform's hint that paths may be gone ({@link PathHint}): links that lost theirs are
   * replaced now, and peers waiting out a backoff are dialled now. Transports with direct
   * paths (webrtc, hybrid) implement it; `joinRoom` calls it.
   */
  pathHint?(hint: PathHint): void
}
