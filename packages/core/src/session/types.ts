/**
 * The session host seam (types only). A session host owns the secure channels, envelope signing
 * and verification, and the sessions' inboxes. It runs in-thread (tests) or in a Worker reached
 * through comlink, so every argument and result here is structured-cloneable plain data, and
 * frames cross as Uint8Arrays over exact ArrayBuffers.
 * @module
 */
import type { CounterSnapshot } from '../counters.ts'
import type { ErrorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { PathAlarmCode } from '../transport/path-evidence.ts'
import type { TransportKind } from '../transport/types.ts'

/** A link as the host sees it. */
export interface LinkInfo {
  linkId: string
  peer: PartyId
  initiator: boolean
  kind: TransportKind
  maxFrameSize: number
  fingerprints?: { local: string[]; remote: string[] } | undefined
}

/** What the host asks of the connection side. */
export interface HostSink {
  sendFrame(linkId: string, frame: Uint8Array): void
  closeLink(linkId: string, code: ErrorCode, reason: string): void
  /** The host has something for `peer` and no ready channel: make a link. */
  requestLink(peer: PartyId): void
  event(event: PartyEvent): void
}

/** Options of `party.session(…)`. */
export interface SessionOptions {
  id: SessionId
  /** Every participant, this party included. */
  participants: readonly PartyId[]
  /** Round timeout (ms) for rounds without an override. @default limits.roundTimeoutMs */
  roundTimeoutMs?: number
  /** Per-round overrides, e.g. `{ 3: 120000 }`. */
  roundTimeouts?: Readonly<Record<number, number>>
}

/** Options of receive / collect. */
export interface ReceiveOptions {
  /** Message kind. @default 'msg' */
  kind?: string
  /** Expect a broadcast rather than a direct message. @default false */
  broadcast?: boolean
  /** Wait at most this long (ms) instead of the round's deadline. */
  timeoutMs?: number
  signal?: AbortSignal
  /**
   * Consistent broadcast (collect of broadcasts only): after collecting, every participant
   * echoes the signed units it got; a sender that broadcast different values to different
   * parties is caught, the session aborts with `EQUIVOCATION` naming it, and the error's
   * `details.evidence` holds the two signed units (see `verifyEquivocationEvidence`).
   * Every participant must collect the round with this option. @default false
   */
  consistent?: boolean
}

/** Events a party emits. */
export type PartyEvent =
  | {
      type: 'peer'
      peer: PartyId
      state: PeerState
      transport: TransportKind
      code?: ErrorCode
      reason?: string
    }
  | { type: 'handshake-failed'; peer: PartyId; code: ErrorCode; reason: string; transport: TransportKind }
  | {
      type: 'drop'
      code: ErrorCode
      peer?: PartyId | undefined
      sessionId?: SessionId | undefined
      reason: string
    }
  | {
      type: 'session'
      sessionId: SessionId
      state: 'opened' | 'aborted' | 'closed'
      code?: ErrorCode
      reason?: string
      by?: PartyId
      silent?: PartyId[]
    }
  /**
   * A handshake on a webrtc link failed with evidence against the signaling path (`code` says
   * which: see `PATH_EVIDENCE_CODES`); relay fallback to `peer` is blocked from then on.
   */
  | { type: 'alarm'; code: PathAlarmCode; peer: PartyId; reason: string }
  | { type: 'proposal'; proposal: ProposalInfo }
  | { type: 'backpressure'; peer: PartyId; sessionId: SessionId; held: number }
  | {
      type: 'message'
      sessionId: SessionId
      from: PartyId
      round: number
      kind: string
      broadcast: boolean
      bytes: number
    }

/**
 * Peer states of DESIGN: `idle → signaling → connecting → handshaking → ready → (lost →
 * backoff → …) → closed`. The transport reports those before `handshaking`, the host the rest.
 */
export type PeerState =
  | 'idle'
  | 'signaling'
  | 'connecting'
  | 'backoff'
  | 'handshaking'
  | 'ready'
  | 'lost'
  | 'closed'

/** A session proposal received from another party, waiting for this party to join. */
export interface ProposalInfo {
  sessionId: SessionId
  protocol: string
  params: Uint8Array
  participants: PartyId[]
  proposer: PartyId
  receivedAt: number
  /** The grant that came with it (already checked), if any. */
  grant?: { grantId: string; issuer: PartyId; expiresAt: number; threshold: number }
}

/** What `party.propose(…)` takes. */
export interface ProposeOptions {
  protocol: string
  /** Protocol parameters bound into the session id. @default empty */
  params?: Uint8Array
  /** Every participant, this party included. */
  participants: readonly PartyId[]
  roundTimeoutMs?: number
  roundTimeouts?: Readonly<Record<number, number>>
  /**
   * A grant for this session (from `issueGrant`, for the sid of this very proposal: see
   * `party.sessionIdFor`). Required when the roster names grant issuers.
   */
  grant?: Uint8Array
  /** The nonce bound into the session id. @default 32 random bytes */
  nonce?: Uint8Array
}

/** A ready peer. */
export interface PeerInfo {
  peer: PartyId
  transport: TransportKind
  since: number
  clockOffsetMs: number
  /** Smoothed round-trip time from keepalive pings (ms); undefined before the first pong. */
  rttMs: number | undefined
  /** 0.4·reliability + 0.3·latency score + 0.3·uptime, in [0, 1] (DESIGN "Connections"). */
  health: number
  /**
   * Units (an envelope, or a batch) sent to this peer and not yet acknowledged, and their bytes:
   * the retransmit buffer that `send()` fills up to `maxUnackedPerPeer` /
   * `maxUnackedBytesPerPeer` before it is refused with `DELIVERY_BUFFER_FULL`. An application
   * that sends a lot can keep an eye on these rather than wait for the refusal.
   */
  pendingUnits: number
  pendingBytes: number
}

/**
 * What a session reopened from an outbox store had done before the restart, so that the
 * application continues where it stopped (see `Session.resumed`).
 */
export interface SessionResume {
  /** Units this party queued per stream: a participant's PartyId (direct) or `'broadcast'`. */
  sent: Readonly<Record<string, number>>
  /** Messages the application took (receive / collect) from each participant, by PartyId. */
  received: Readonly<Record<string, number>>
}

/** The session host contract. */
export interface SessionHost {
  /** True when no roster restricts who may connect (the host's config has none). */
  readonly open: boolean
  /** Wire the host to its connection side. */
  connect(sink: HostSink): void
  linkOpened(info: LinkInfo): void
  linkFrame(linkId: string, frame: Uint8Array): void
  linkClosed(linkId: string, code: ErrorCode, reason: string): void
  /**
   * Open a session. With an outbox store, an id the store holds open is resumed instead.
   * @throws ConclaveError `SESSION_EXISTS`
   */
  openSession(options: SessionOptions): void
  /**
   * Progress of a session resumed from an outbox store in this host's lifetime (undefined for
   * any other session, and always without a store).
   */
  resumeOf(sessionId: SessionId): SessionResume | undefined
  /** Open a session as its proposer and send the proposal to the others. */
  propose(options: ProposeOptions): Promise<SessionId>
  /** Proposals received and not joined yet. */
  proposals(): ProposalInfo[]
  send(sessionId: SessionId, to: PartyId, round: number, body: Uint8Array, kind?: string): Promise<void>
  broadcast(sessionId: SessionId, round: number, body: Uint8Array, kind?: string): Promise<void>
  receive(sessionId: SessionId, from: PartyId, round: number, options?: ReceiveOptions): Promise<Uint8Array>
  collect(sessionId: SessionId, round: number, options?: ReceiveOptions): Promise<Map<PartyId, Uint8Array>>
  abort(sessionId: SessionId, reason: string): Promise<void>
  /**
   * Resolves once the session has started: at once for a session opened directly; for a
   * proposed one, when the proposer has every participant's ack and has sent `start`.
   * @throws ConclaveError `ROUND_TIMEOUT` naming who did not ack (or the silent proposer); the
   *   session is then aborted
   */
  started(sessionId: SessionId, options?: { timeoutMs?: number }): Promise<void>
  closeSession(sessionId: SessionId): void
  peers(): PeerInfo[]
  counters(): CounterSnapshot
  stop(): void
}
