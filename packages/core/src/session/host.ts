/**
 * The in-thread session host: secure channels per link, envelope signing and the receive
 * pipeline of DESIGN (decode → sender is the link's peer → participant → strict signature →
 * recipient → freshness → replay), sessions and their inboxes. The same class runs inside a
 * Worker behind comlink; here it runs on the caller's thread.
 * @module
 */
import { equalBytes, Reader, toHex, Writer } from '../bytes.ts'
import type { HandshakeResult } from '../channel/handshake.ts'
import { nextTurn, SecureChannel } from '../channel/secure-channel.ts'
import { type CounterSnapshot, Counters } from '../counters.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { ConclaveError, type ErrorCode, errorCode, isErrorCode } from '../errors.ts'
import {
  BROADCAST_RECIPIENT,
  type PartyId,
  partyIdFromBytes,
  partyIdToBytes,
  type SessionId,
  sessionIdFromBytes,
} from '../ids.ts'
import type { TransportKind } from '../transport/types.ts'
import {
  type BatchItem,
  batchSignedBytes,
  batchWireBytes,
  COMPACT_BATCH_MARKER,
  type DecodedBatch,
  decodeBatch,
  decodeUnit,
  type EnvelopeUnit,
  encodeBatch,
  encodePayload,
  encodeUnit,
  envelopeSignedBytes,
  expandCompactBatch,
  isBatchUnit,
  MAX_BATCH_UNITS,
} from '../wire/envelope.ts'
import { type Record as FrameRecord, RecordType } from '../wire/frame.ts'
import { COMPACT_BATCH_VERSION } from '../wire/handshake.ts'
import { decodeProposal, encodeProposal } from '../wire/proposal.ts'
import { deriveSessionId } from '../wire/sid.ts'
import { batchDigests, batchItemDigests, signNow, verifyBatch, verifyNow } from './batch.ts'
import { PeerDelivery } from './delivery.ts'
import { decodeEcho, echoKind, encodeEcho, equivocationError, equivocationEvidence } from './evidence.ts'
import { checkGrant, createMemoryGrantStore, type GrantStore } from './grants.ts'
import { PeerGuard } from './guard.ts'
import { type Limits, resolveLimits } from './limits.ts'
import type { OutboxRecord, OutboxStore } from './outbox.ts'
import {
  ABORT_KIND,
  ACK_KIND,
  CONTROL_ROUND,
  PROPOSAL_KIND,
  SessionState,
  START_KIND,
} from './session-state.ts'
import type {
  HostSink,
  LinkInfo,
  PartyEvent,
  PeerInfo,
  ProposalInfo,
  ProposeOptions,
  ReceiveOptions,
  SessionHost,
  SessionOptions,
  SessionResume,
} from './types.ts'
import { UnknownSessionBuffer } from './unknown-buffer.ts'

/** Configuration of a session host. */
export interface SessionHostConfig {
  crypto: CryptoBackend
  identity: SigningKey
  /** Service mode both ends of a link must share. @default 'conclave' */
  mode?: string
  /** When set, only these parties are accepted (the trust anchor). Without it: open mode. */
  roster?: ReadonlySet<PartyId> | undefined
  /** 16-byte stream epoch. @default 16 random bytes */
  epoch?: Uint8Array
  /** Keys allowed to issue session grants (the roster's `grantIssuers`). */
  grantIssuers?: ReadonlySet<PartyId> | undefined
  /** Refuse proposals without a valid grant. @default true when `grantIssuers` is not empty */
  requireGrant?: boolean
  /** Remembers used grantIds. @default in memory (use a file store to survive restarts) */
  grantStore?: GrantStore
  limits?: Partial<Limits>
  /** Clock (ms since the Unix epoch). @default Date.now */
  now?: () => number
  /**
   * Keeps the epoch, delivery streams and open sessions across restarts (DESIGN "Delivery"):
   * a host started with the same key and store resumes them, and its peers see no restart.
   * The store's epoch wins over `epoch`. The host closes the store on `stop()`.
   * @default none: a restart is a new epoch, and peers abort the sessions with PEER_RESTARTED
   */
  outbox?: OutboxStore
}

interface LinkState {
  info: LinkInfo
  channel: SecureChannel
  result: HandshakeResult | undefined
  since: number
  lastHeard: number
  /** Smoothed round-trip time (ms), from keepalive pings. */
  rttMs: number | undefined
  /** Smoothed latency score in [0, 1]. */
  latencyScore: number
  /** Delivery number of the next unit arriving on this link (set by the peer's `resume`). */
  cursor: bigint | undefined
}

/** A unit waiting for its signature (see `signPending`). */
interface PendingUnit extends BatchItem {
  to: readonly PartyId[]
  ref: StreamRef
  onUnit: ((unit: Uint8Array) => void) | undefined
  resolve: () => void
  reject: (e: unknown) => void
}

/** Units signed together: one alone, or a batch of direct units to one peer. */
interface SignJob {
  items: PendingUnit[]
  /** Payload bytes in the job (a batch closes at `limits.maxBatchBytes`). */
  bytes: number
  batch: boolean
}

/** Bytes a batch (either form) is charged per item beside its own size (see `onUnit`). */
const BATCH_ITEM_CHARGE = 720

/**
 * Whether `v` is a view into a buffer much larger than itself, which holding `v` would keep
 * alive: what is kept then pins at most twice its size plus 1 KiB (a reassembled 64 KiB unit is
 * kept as it is; a 256 B body in a 64 KiB frame or a 1 MiB batch is copied out).
 */
function pinsMore(v: Uint8Array): boolean {
  return v.buffer.byteLength > 2 * v.byteLength + 1024
}

/**
 * An envelope copied out of the batch or frame it is a view into: its own bytes once, the fields
 * as views into that copy, so holding it does not keep the rest alive.
 */
function detached(unit: EnvelopeUnit): EnvelopeUnit {
  const from = unit.bytes
  const to = from.slice()
  const view = (v: Uint8Array): Uint8Array => {
    const off = v.byteOffset - from.byteOffset
    return v.buffer === from.buffer && off >= 0 && off + v.length <= from.length
      ? to.subarray(off, off + v.length)
      : v.slice()
  }
  return {
    ...unit,
    sessionId: view(unit.sessionId),
    from: view(unit.from),
    epoch: view(unit.epoch),
    body: view(unit.body),
    payload: view(unit.payload),
    recipient: view(unit.recipient),
    signature: view(unit.signature),
    bytes: to,
  }
}

/** Envelopes in a unit: a batch's count, or 1. */
function messagesIn(unit: Uint8Array): number {
  return isBatchUnit(unit) && unit.length >= 3 ? (unit[1]! << 8) | unit[2]! : 1
}

/** What the host remembers of a peer across links, for its health score. */
interface PeerRecord {
  firstSeen: number
  handshakes: number
  failures: number
}

interface Held {
  unit: EnvelopeUnit
  peer: PartyId
  clockOffsetMs: number
  /** The unit's delivery number from `peer`, when it comes straight from the receive chain. */
  deliverySeq?: bigint | undefined
  /** Its session id, replay stream and freshness key, when already known (units of a batch). */
  keys?: UnitKeys | undefined
  /**
   * Part of the batch this party was taking when it restarted: an envelope already in the
   * replay memory was accepted before the restart, so it is a duplicate, not the peer's fault.
   */
  resent?: boolean | undefined
}

/** The string keys `accept` needs of a unit. */
interface UnitKeys {
  sid: SessionId
  stream: string
  fresh: string
}

function unitKeys(unit: EnvelopeUnit): UnitKeys {
  return {
    sid: sessionIdFromBytes(unit.sessionId),
    stream: SessionState.stream(unit.from, unit.recipient, unit.epoch),
    fresh: `${toHex(unit.from)}|${toHex(unit.epoch)}`,
  }
}

/** The keys of `unit`, reusing `prev`'s when both name the same session, sender, recipient and epoch. */
function unitKeysLike(
  unit: EnvelopeUnit,
  prev: EnvelopeUnit | undefined,
  prevKeys: UnitKeys | undefined,
): UnitKeys {
  if (
    prev &&
    prevKeys &&
    equalBytes(unit.sessionId, prev.sessionId) &&
    equalBytes(unit.from, prev.from) &&
    equalBytes(unit.recipient, prev.recipient) &&
    equalBytes(unit.epoch, prev.epoch)
  )
    return prevKeys
  return unitKeys(unit)
}

/** What a unit being queued belongs to (journaled with it). */
interface StreamRef {
  session: SessionState
  /** The recipient's PartyId or 'broadcast'. */
  stream: string
  seq: bigint
}

const DEFAULT_KIND = 'msg'

/** Link-closing faults that only an authenticated peer can cause (after the frame's AEAD). */
const AUTHENTICATED_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CHUNK_INVALID',
  'REASSEMBLY_OVER_CAP',
  'MESSAGE_TOO_LARGE',
  'DELIVERY_GAP',
])

/** The in-thread session host. */
export class InThreadSessionHost implements SessionHost {
  readonly self: PartyId
  readonly epoch: Uint8Array
  readonly limits: Limits
  private readonly selfBytes: Uint8Array
  private readonly crypto: CryptoBackend
  private readonly now: () => number
  private readonly mode: string
  private sink: HostSink | undefined
  private readonly links = new Map<string, LinkState>()
  private readonly readyLinks = new Map<PartyId, LinkState>()
  private readonly deliveries = new Map<PartyId, PeerDelivery>()
  private readonly ackTimers = new Map<PartyId, ReturnType<typeof setTimeout>>()
  private readonly peerEpochs = new Map<PartyId, string>()
  private readonly sessions = new Map<SessionId, SessionState>()
  private readonly runSessions = new Set<SessionId>()
  private readonly recvChains = new Map<PartyId, Promise<void>>()
  /** Units (and their bytes) received from each peer and not yet processed. */
  private readonly unprocessed = new Map<PartyId, { units: number; bytes: number }>()
  private sendChain: Promise<void> = Promise.resolve()
  private readonly unknown: UnknownSessionBuffer<Held>
  private readonly counter = new Counters()
  private readonly guard: PeerGuard
  private readonly grantIssuers: ReadonlySet<PartyId>
  private readonly requireGrant: boolean
  private readonly grantStore: GrantStore
  private readonly peerRecords = new Map<PartyId, PeerRecord>()
  private readonly pendingProposals = new Map<SessionId, ProposalInfo>()
  /** Canonical proposal bytes (the sid's preimage) of pending proposals, for evidence. */
  private readonly preimages = new Map<SessionId, Uint8Array>()
  private keepaliveTimer: ReturnType<typeof setInterval> | undefined
  private stopped = false
  private readonly outbox: OutboxStore | undefined
  /** Sessions restored from the outbox store that the application has not reopened yet. */
  private readonly dormant = new Set<SessionId>()
  private readonly resumed = new Map<SessionId, SessionResume>()

  constructor(private readonly config: SessionHostConfig) {
    this.crypto = config.crypto
    this.selfBytes = config.identity.publicKey
    this.self = partyIdFromBytes(this.selfBytes)
    this.limits = resolveLimits(config.limits)
    this.now = config.now ?? Date.now
    this.mode = config.mode ?? 'conclave'
    this.outbox = config.outbox
    const stored = this.outbox?.load()
    this.epoch = stored?.epoch ?? config.epoch ?? config.crypto.randomBytes(16)
    this.guard = new PeerGuard(this.limits, this.now)
    this.grantIssuers = config.grantIssuers ?? new Set()
    this.requireGrant = config.requireGrant ?? this.grantIssuers.size > 0
    this.grantStore = config.grantStore ?? createMemoryGrantStore()
    if (this.epoch.length !== 16)
      throw new ConclaveError('INVALID_ARGUMENT', `"epoch" expected 16 bytes, got ${this.epoch.length}`)
    this.unknown = new UnknownSessionBuffer<Held>({
      holdMs: this.limits.unknownSessionHoldMs,
      maxSessions: this.limits.unknownSessionMaxSessions,
      maxBytesPerSender: this.limits.unknownSessionMaxBytesPerSender,
      now: this.now,
      onExpire: (held, sid) =>
        this.refuse('UNKNOWN_SESSION_EXPIRED', held.from, sid, 'held message of a session never opened'),
    })
    if (this.outbox) this.restore()
  }

  /** Journal a record in the outbox store (when there is one and the host runs). */
  private journal(record: OutboxRecord): void {
    if (this.outbox && !this.stopped) this.outbox.append(record)
  }

  /**
   * Take up what the outbox store kept: the epoch (journaled on first use), each peer's
   * delivery streams, the ids of sessions that ended, and the open sessions with their
   * sequence numbers, replay memory and unconsumed inbox. Restored sessions accept units at
   * once and wait, dormant, for the application to reopen them (`openSession` with their id).
   */
  private restore(): void {
    const state = this.outbox!.load()
    // what it kept must still fit a channel under today's limits: resending a unit the channel
    // refuses would stall that peer's stream for good. A compact batch is measured in its full
    // form, which a version-1 peer gets (and which must rebuild under today's body limit).
    const maxUnit = this.limits.maxMessageBytes + 1024
    for (const [peer, p] of state.peers) {
      for (const [seq, unit] of p.unacked) {
        let size = unit.length
        if (unit[0] === COMPACT_BATCH_MARKER) {
          try {
            size = expandCompactBatch(unit, this.limits.maxMessageBytes).length
          } catch {
            size = Number.POSITIVE_INFINITY
          }
        }
        if (size > maxUnit) {
          throw new ConclaveError(
            'INVALID_ARGUMENT',
            `the outbox store keeps unit ${seq} for ${peer.slice(0, 16)}… of ${size} bytes (full form), over maxMessageBytes + 1 KiB (${maxUnit}): start with the maxMessageBytes it was written under`,
            { peer, seq, bytes: size, max: maxUnit },
          )
        }
      }
    }
    if (!state.epoch) this.outbox!.append({ type: 'epoch', epoch: this.epoch })
    for (const [peer, p] of state.peers) {
      this.peerDelivery(peer).restore({
        epoch: p.epoch,
        sendNext: BigInt(p.sendNext),
        unacked: [...p.unacked].map(([seq, unit]) => [BigInt(seq), unit] as [bigint, Uint8Array]),
        processed: BigInt(p.processed),
      })
      if (p.epoch !== undefined) this.peerEpochs.set(peer, p.epoch)
    }
    for (const sid of state.ended) this.runSessions.add(sid)
    for (const [sid, saved] of state.sessions) {
      const s = new SessionState(saved.options, this.self, this.limits, this.now())
      for (const [stream, next] of saved.seqs) s.restoreSeq(stream, BigInt(next))
      for (const [stream, r] of saved.replay)
        s.replay.restore(stream, BigInt(r.floor), [...r.above].map(BigInt))
      for (const f of saved.fresh) s.freshStreams.add(f)
      s.touch(saved.round)
      for (const m of saved.inbox) s.inbox.put(m.key, m.body)
      this.sessions.set(sid, s)
      this.runSessions.add(sid)
      this.dormant.add(sid)
      this.resumed.set(sid, {
        sent: Object.fromEntries(saved.sent),
        received: Object.fromEntries(saved.taken),
      })
    }
  }

  /** Note that this party acts in `round` (journaled: a resumed session keeps its round window). */
  private touch(s: SessionState, round: number): void {
    if (round <= s.currentRound) return
    s.touch(round)
    this.journal({ type: 'round', sessionId: s.id, round })
  }

  /** Progress of a session resumed from the outbox store, once the application reopened it. */
  resumeOf(sessionId: SessionId): SessionResume | undefined {
    return this.dormant.has(sessionId) ? undefined : this.resumed.get(sessionId)
  }

  connect(sink: HostSink): void {
    this.sink = sink
    if (!this.keepaliveTimer && this.limits.keepaliveMs > 0) {
      this.keepaliveTimer = setInterval(
        () => this.keepalive(),
        Math.min(this.limits.keepaliveMs, this.limits.lostAfterMs / 3),
      )
      ;(this.keepaliveTimer as { unref?: () => void }).unref?.()
    }
    // units kept by the outbox store wait for their peers: ask for links until they are ready
    for (const [peer, d] of this.deliveries) if (d.pendingCount > 0) this.relinkLater(peer)
  }

  /** Ping every ready link; a link silent for `lostAfterMs` is lost. */
  private keepalive(): void {
    const now = this.now()
    for (const l of this.readyLinks.values()) {
      if (now - l.lastHeard > this.limits.lostAfterMs) {
        l.channel.close('LINK_LOST', `no traffic for ${now - l.lastHeard} ms`)
        continue
      }
      try {
        l.channel.sendRecord({ type: RecordType.ping, value: BigInt(Math.floor(now)) })
      } catch {
        // closing already
      }
    }
  }

  private record(peer: PartyId): PeerRecord {
    let r = this.peerRecords.get(peer)
    if (!r) {
      r = { firstSeen: this.now(), handshakes: 0, failures: 0 }
      this.peerRecords.set(peer, r)
    }
    return r
  }

  private get out(): HostSink {
    if (!this.sink) throw new ConclaveError('NOT_STARTED', 'session host has no sink: call connect() first')
    return this.sink
  }

  private emit(event: PartyEvent): void {
    this.sink?.event(event)
  }

  // ── links ─────────────────────────────────────────────────────────────────────────────

  linkOpened(info: LinkInfo): void {
    if (this.stopped) return
    const state: LinkState = {
      info,
      channel: undefined as unknown as SecureChannel,
      result: undefined,
      since: this.now(),
      lastHeard: this.now(),
      rttMs: undefined,
      latencyScore: 1,
      cursor: undefined,
    }
    const traffic = this.counter.of(info.kind)
    state.channel = new SecureChannel(
      {
        crypto: this.crypto,
        identity: this.config.identity,
        expectedPeer: info.peer,
        initiator: info.initiator,
        mode: this.mode,
        epoch: this.epoch,
        now: this.now,
        fingerprints: info.fingerprints,
        admit: (peer) => this.admit(peer),
        maxFrameSize: info.maxFrameSize,
        maxMessageBytes: this.limits.maxMessageBytes + 1024,
        maxReassemblyBytes: this.limits.maxReassemblyBytes,
        handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      },
      {
        sendFrame: (frame) => {
          traffic.framesSent++
          traffic.bytesSent += frame.length
          try {
            this.out.sendFrame(info.linkId, frame)
          } catch (e) {
            // the transport found the link dead (wrtc: the data channel closed under us); this runs
            // inside the channel's flush, so the link is finished afterwards, not from here
            const reason = `send failed: ${e instanceof Error ? e.message : String(e)}`
            queueMicrotask(() => this.linkClosed(info.linkId, errorCode(e) ?? 'LINK_CLOSED', reason))
          }
        },
        ready: (result) => this.onReady(state, result),
        unit: (unit) => {
          // a batch's envelopes are counted once it decodes (processBatch)
          if (!isBatchUnit(unit)) traffic.messagesReceived++
          else this.counter.batchesReceived++
          this.onUnit(state, unit)
          // a compact batch is decoded at once into envelopes of their own (or refused, or
          // skipped as a duplicate): nothing keeps its bytes, which the channel may reuse
          return unit[0] === COMPACT_BATCH_MARKER
        },
        record: (rec) => this.onRecord(state, rec),
        closed: (code, reason, remote) => this.onChannelClosed(state, code, reason, remote),
      },
    )
    this.links.set(info.linkId, state)
    this.emit({ type: 'peer', peer: info.peer, state: 'handshaking', transport: info.kind })
    void state.channel.start()
  }

  linkFrame(linkId: string, frame: Uint8Array): void {
    const state = this.links.get(linkId)
    if (!state) return
    const traffic = this.counter.of(state.info.kind)
    traffic.framesReceived++
    traffic.bytesReceived += frame.length
    state.lastHeard = this.now()
    state.channel.receive(frame)
  }

  linkClosed(linkId: string, code: ErrorCode, reason: string): void {
    const state = this.links.get(linkId)
    if (!state) return
    // the link is gone: finish the channel without trying to send a close record on it
    this.links.delete(linkId)
    this.dropLink(state, code, reason)
  }

  private onReady(state: LinkState, result: HandshakeResult): void {
    state.result = result
    state.since = this.now()
    this.counter.handshakes++
    const peer = result.peer
    this.record(peer).handshakes++
    const previous = this.readyLinks.get(peer)
    this.readyLinks.set(peer, state)
    if (previous && previous !== state) previous.channel.close('LINK_CLOSED', 'replaced by a newer link')
    const epoch = toHex(result.peerEpoch)
    const known = this.peerEpochs.get(peer)
    this.peerEpochs.set(peer, epoch)
    if (known !== undefined && known !== epoch) this.peerRestarted(peer)
    // A new incarnation of the peer starts both delivery streams afresh; the same one resumes
    // them: everything not acknowledged is sent again after a `resume` naming its number.
    this.relinkTries.delete(peer)
    const d = this.peerDelivery(peer)
    if (d.epoch !== epoch) this.journal({ type: 'peer-epoch', peer, epoch })
    if (d.epoch !== undefined && d.epoch !== epoch) d.reset(epoch)
    d.epoch = epoch
    const { from, units } = d.resume()
    state.channel.sendRecord({ type: RecordType.resume, seq: from })
    if (previous || known !== undefined) this.counter.retransmits += units.length
    try {
      for (const unit of units) this.transmit(state, unit, messagesIn(unit))
    } catch (e) {
      // cannot happen with units this party made under its limits (restore() refuses a store
      // whose units are over them); if it does, the link is given up without blaming the peer
      const reason = `cannot send a kept unit again: ${e instanceof Error ? e.message : String(e)}`
      this.counter.drop(errorCode(e) ?? 'MESSAGE_TOO_LARGE')
      state.channel.close('LINK_CLOSED', reason)
      return
    }
    // the last ack may have been lost with the old link (or this party restarted): say it again
    d.ackedUpTo = 0n
    if (d.processed > 0n) this.scheduleAck(peer)
    this.emit({ type: 'peer', peer, state: 'ready', transport: state.info.kind })
  }

  private readonly relinkTimers = new Map<PartyId, ReturnType<typeof setTimeout>>()
  private readonly relinkTries = new Map<PartyId, number>()

  /** Ask for a new link soon while units wait for `peer` and none is ready. */
  private relinkLater(peer: PartyId): void {
    if (this.stopped || this.relinkTimers.has(peer)) return
    if ((this.deliveries.get(peer)?.pendingCount ?? 0) === 0) return
    const tries = this.relinkTries.get(peer) ?? 0
    this.relinkTries.set(peer, tries + 1)
    const timer = setTimeout(
      () => {
        this.relinkTimers.delete(peer)
        if (this.stopped || this.readyLinks.has(peer)) return
        if ((this.deliveries.get(peer)?.pendingCount ?? 0) === 0) return
        this.sink?.requestLink(peer)
        this.relinkLater(peer) // again until a link is ready, backing off to 10 s
      },
      Math.min(10_000, 250 * 2 ** tries),
    )
    ;(timer as { unref?: () => void }).unref?.()
    this.relinkTimers.set(peer, timer)
  }

  private peerDelivery(peer: PartyId): PeerDelivery {
    let d = this.deliveries.get(peer)
    if (!d) {
      d = new PeerDelivery(peer, {
        maxUnacked: this.limits.maxUnackedPerPeer,
        maxUnackedBytes: this.limits.maxUnackedBytesPerPeer,
      })
      this.deliveries.set(peer, d)
    }
    return d
  }

  /**
   * Acknowledge what was processed, at most `ackDelayMs` later (acks are cumulative), unless a
   * frame to that peer carries it first ({@link ackOnTheWay}) or `ackAfterBytes` were processed
   * (then at once).
   */
  private scheduleAck(peer: PartyId): void {
    if (this.ackTimers.has(peer)) return
    const timer = setTimeout(() => {
      this.ackTimers.delete(peer)
      const link = this.readyLinks.get(peer)
      if (link) this.ackOnTheWay(peer, link)
    }, this.limits.ackDelayMs)
    this.ackTimers.set(peer, timer)
  }

  /**
   * Queue an ack of what was processed from `peer` on its link, if there is one to give: the
   * timer's, or one that rides in the frame of a unit going to that peer anyway (a reply then
   * costs no frame of its own, and no wrtc send() a frame costs).
   */
  private ackOnTheWay(peer: PartyId, link: LinkState): void {
    const d = this.deliveries.get(peer)
    if (!d || link.channel.isClosed || d.processed <= d.ackedUpTo) return
    // an ack never covers what the outbox store has not kept
    if (d.journaled < d.processed) {
      this.journal({ type: 'processed', peer, next: Number(d.processed) })
      d.journaled = d.processed
    }
    d.ackedUpTo = d.processed
    d.bytesSinceAck = 0
    try {
      link.channel.sendRecord({ type: RecordType.ack, seq: d.processed })
    } catch {
      // the link is closing; the next one resumes and acks then
    }
  }

  private onRecord(state: LinkState, rec: FrameRecord): void {
    const peer = state.result?.peer
    if (rec.type === RecordType.resume) state.cursor = rec.seq
    if (rec.type === RecordType.ack && peer) {
      const d = this.deliveries.get(peer)
      const before = d?.pendingCount ?? 0
      d?.onAck(rec.seq)
      if (d && d.pendingCount < before) this.journal({ type: 'ack', peer, next: Number(rec.seq) })
    }
    if (rec.type === RecordType.ping) state.channel.sendRecord({ type: RecordType.pong, value: rec.value })
    if (rec.type === RecordType.pong) {
      const rtt = this.now() - Number(rec.value)
      if (rtt < 0 || rtt > 3_600_000) return
      state.rttMs = state.rttMs === undefined ? rtt : 0.8 * state.rttMs + 0.2 * rtt
      const score = Math.max(0, 1 - rtt / 1000)
      state.latencyScore = 0.8 * state.latencyScore + 0.2 * score
    }
  }

  private onChannelClosed(state: LinkState, code: ErrorCode, reason: string, remote: boolean): void {
    const wasReady = state.result !== undefined
    const peer = state.info.peer
    if (!wasReady || code !== 'LINK_CLOSED') this.record(peer).failures++
    if (!wasReady) {
      this.counter.handshakeFailed(code)
      this.emit({ type: 'handshake-failed', peer, code, reason, transport: state.info.kind })
      if (code === 'FINGERPRINT_MISMATCH') this.emit({ type: 'alarm', code, peer, reason })
    } else if (!remote && code !== 'LINK_CLOSED' && code !== 'PEER_BANNED') {
      this.counter.drop(code)
      this.emit({ type: 'drop', code, peer, reason })
      // Only what the peer provably sent counts against it: a frame that fails to decrypt, or
      // arrives out of order, may have been forged or damaged by whoever carries it (the
      // network, a relaying signaling server), so penalising it would let them partition
      // honest parties. Content errors inside authenticated frames are the peer's own.
      if (AUTHENTICATED_FAULTS.has(code) && this.guard.penalize(peer, code)) {
        this.cutOff(peer, `penalty score over ${this.limits.penaltyThreshold}`)
      }
    }
    if (this.readyLinks.get(peer) === state) this.readyLinks.delete(peer)
    // what the peer has not acknowledged needs a new link (also when this one died handshaking)
    if (!this.readyLinks.has(peer)) this.relinkLater(peer)
    if (this.links.delete(state.info.linkId)) this.sink?.closeLink(state.info.linkId, code, reason)
    this.emit({
      type: 'peer',
      peer,
      state: wasReady ? 'lost' : 'closed',
      transport: state.info.kind,
      code,
      reason,
    })
  }

  private dropLink(state: LinkState, code: ErrorCode, reason: string): void {
    if (!state.channel.isClosed) state.channel.close(code, reason)
  }

  private peerRestarted(peer: PartyId): void {
    for (const s of this.sessions.values()) {
      if (s.status === 'open' && s.participants.has(peer)) {
        this.fail(
          s,
          new ConclaveError('PEER_RESTARTED', `peer ${peer.slice(0, 16)}… restarted`, { peer }),
          peer,
        )
      }
    }
  }

  // ── receive pipeline ──────────────────────────────────────────────────────────────────

  private onUnit(state: LinkState, bytes: Uint8Array): void {
    const peer = state.result?.peer
    if (!peer) return
    // number the unit on this link; a retransmission of what was already received is skipped
    const d = this.peerDelivery(peer)
    if (state.cursor === undefined) {
      state.channel.close('DELIVERY_GAP', 'a unit before the resume record')
      return
    }
    // throttle a peer over its rates; cut it off when it stays over them. A batch is one unit
    // (one signature check), charged for what its envelopes hold until processed: ~0.5 KiB of
    // objects each, and a compact item grows by up to 207 bytes when rebuilt
    const charge = this.guard.charge(
      peer,
      isBatchUnit(bytes) ? bytes.length + messagesIn(bytes) * BATCH_ITEM_CHARGE : bytes.length,
    )
    if (charge.verdict === 'ban') {
      this.cutOff(peer, charge.reason)
      return
    }
    if (charge.verdict === 'throttle') {
      this.counter.throttled++
      const wait = charge.waitMs
      const prev = this.recvChains.get(peer) ?? Promise.resolve()
      this.recvChains.set(
        peer,
        prev.then(() => new Promise<void>((r) => setTimeout(r, wait))),
      )
    }
    // what waits to be processed is bounded: an honest sender never has more in flight than its
    // retransmit buffer. Checked before the unit is numbered, so that it goes again after the ban
    const waiting = this.unprocessed.get(peer) ?? { units: 0, bytes: 0 }
    this.unprocessed.set(peer, waiting)
    const over =
      waiting.units + 1 > this.limits.maxUnprocessedPerPeer
        ? `maxUnprocessedPerPeer (${this.limits.maxUnprocessedPerPeer})`
        : waiting.bytes + bytes.length > this.limits.maxUnprocessedBytesPerPeer
          ? `maxUnprocessedBytesPerPeer (${this.limits.maxUnprocessedBytesPerPeer})`
          : undefined
    if (over) {
      this.cutOff(
        peer,
        `${waiting.units} units (${waiting.bytes} bytes) received and not yet processed, and one more of ${bytes.length} bytes: over ${over}`,
      )
      return
    }
    const seq = state.cursor++
    try {
      if (d.receive(seq) === 'duplicate') {
        this.counter.duplicates++
        this.scheduleAck(peer) // the sender did not see the ack that covers it
        return
      }
    } catch (e) {
      state.channel.close(errorCode(e) ?? 'DELIVERY_GAP', e instanceof Error ? e.message : String(e))
      return
    }
    const size = bytes.length
    waiting.units++
    waiting.bytes += size
    this.process(state, peer, bytes, seq)
    // acknowledged once processed (accepted or refused: a refused unit is not worth resending)
    const done = (this.recvChains.get(peer) ?? Promise.resolve()).then(() => {
      waiting.units--
      waiting.bytes -= size
      if (d.processed < seq + 1n) d.processed = seq + 1n
      d.bytesSinceAck += size
      // a unit that ended without an `accept` carrying its number (refused, control, held) is
      // journaled as processed now: after a restart, the store then names exactly the unit
      // that was in progress (resumedAt), not an earlier one
      if (this.outbox && d.journaled < d.processed) {
        this.journal({ type: 'processed', peer, next: Number(d.processed) })
        d.journaled = d.processed
      }
      const link = d.bytesSinceAck >= this.limits.ackAfterBytes ? this.readyLinks.get(peer) : undefined
      if (link) this.ackOnTheWay(peer, link)
      else this.scheduleAck(peer)
    })
    this.recvChains.set(peer, done)
  }

  /** The receive pipeline of one unit. */
  private process(state: LinkState, peer: PartyId, bytes: Uint8Array, deliverySeq: bigint): void {
    if (isBatchUnit(bytes)) {
      this.processBatch(state, peer, bytes, deliverySeq)
      return
    }
    let unit: EnvelopeUnit
    try {
      unit = decodeUnit(bytes, this.limits.maxMessageBytes)
    } catch (e) {
      this.refuse(
        errorCode(e) ?? 'DECODE_SHORT_INPUT',
        peer,
        undefined,
        e instanceof Error ? e.message : String(e),
      )
      return
    }
    const sid = sessionIdFromBytes(unit.sessionId)
    if (!equalBytes(unit.from, state.result!.peerKey)) {
      this.refuse(
        'ENVELOPE_WRONG_SENDER',
        peer,
        sid,
        `envelope from ${toHex(unit.from).slice(0, 16)}… arrived over ${peer.slice(0, 16)}…'s link`,
      )
      return
    }
    const session = this.sessions.get(sid)
    if (session && !session.participants.has(peer)) {
      this.refuse('ENVELOPE_NOT_PARTICIPANT', peer, sid, 'sender is not a participant of the session')
      return
    }
    // Verification starts now (several can be in flight); delivery stays in arrival order.
    const verified = verifyNow(
      this.crypto,
      unit.from,
      envelopeSignedBytes(unit.payload, unit.recipient, unit.timestamp),
      unit.signature,
    )
    const offset = state.result!.clockOffsetMs
    const chain = (this.recvChains.get(peer) ?? Promise.resolve())
      .then(() => verified)
      .then((ok) => {
        if (!ok) {
          this.refuse('ENVELOPE_BAD_SIGNATURE', peer, sid, 'envelope signature does not verify')
          return
        }
        return this.accept({ unit, peer, clockOffsetMs: offset, deliverySeq })
      })
      .catch((e: unknown) => this.refuse(errorCode(e) ?? 'ENVELOPE_BAD_SIGNATURE', peer, sid, String(e)))
    this.recvChains.set(peer, chain)
  }

  /**
   * The receive pipeline of a batch: decode, every envelope from the link's peer, one strict
   * signature over the digests, then each envelope through the checks after the signature, in
   * order. Only the last one carries the batch's delivery number to the journal, so a restart
   * in the middle has the whole batch sent again (what was accepted of it is then a replay).
   */
  private processBatch(state: LinkState, peer: PartyId, bytes: Uint8Array, deliverySeq: bigint): void {
    let batch: DecodedBatch
    try {
      batch = decodeBatch(bytes, this.limits.maxMessageBytes)
    } catch (e) {
      this.refuse(
        errorCode(e) ?? 'DECODE_SHORT_INPUT',
        peer,
        undefined,
        e instanceof Error ? e.message : String(e),
      )
      return
    }
    this.counter.of(state.info.kind).messagesReceived += batch.units.length
    const peerKey = state.result!.peerKey
    for (const unit of batch.units) {
      if (!equalBytes(unit.from, peerKey)) {
        this.refuse(
          'ENVELOPE_WRONG_SENDER',
          peer,
          sessionIdFromBytes(unit.sessionId),
          `batched envelope from ${toHex(unit.from).slice(0, 16)}… arrived over ${peer.slice(0, 16)}…'s link`,
        )
        return
      }
    }
    const digests = batchDigests(this.crypto, batch.items)
    const verified = verifyBatch(this.crypto, peerKey, digests, batch.signature)
    const offset = state.result!.clockOffsetMs
    const last = batch.units.length - 1
    const resent = this.peerDelivery(peer).resumedAt === deliverySeq
    const acceptAll = async (ok: boolean): Promise<void> => {
      const first = sessionIdFromBytes(batch.units[0]!.sessionId)
      if (!ok) {
        this.refuse('ENVELOPE_BAD_SIGNATURE', peer, first, 'batch signature does not verify')
        return
      }
      let prev: EnvelopeUnit | undefined
      let prevKeys: UnitKeys | undefined
      for (const [i, unit] of batch.units.entries()) {
        const keys = unitKeysLike(unit, prev, prevKeys)
        prev = unit
        prevKeys = keys
        const sid = keys.sid
        const session = this.sessions.get(sid)
        if (session && !session.participants.has(peer)) {
          this.refuse('ENVELOPE_NOT_PARTICIPANT', peer, sid, 'sender is not a participant of the session')
          continue
        }
        try {
          const wait = this.accept({
            unit,
            peer,
            clockOffsetMs: offset,
            deliverySeq: i === last ? deliverySeq : undefined,
            keys,
            resent,
          })
          if (wait) await wait
        } catch (e) {
          this.refuse(errorCode(e) ?? 'ENVELOPE_BAD_SIGNATURE', peer, sid, String(e))
        }
      }
    }
    const prev = this.recvChains.get(peer) ?? Promise.resolve()
    this.recvChains.set(
      peer,
      prev
        .then(() => verified)
        .then(acceptAll, (e: unknown) => {
          this.refuse(errorCode(e) ?? 'ENVELOPE_BAD_SIGNATURE', peer, undefined, String(e))
        }),
    )
  }

  /**
   * The checks after the signature; holds units of sessions not opened yet. When the sender's
   * inbox in the session is full, returns a promise that settles once the unit is in: the
   * peer's receive chain waits on it, so nothing behind it is processed or acknowledged
   * meanwhile, and the sender's retransmit buffer fills up until its `send` is refused with
   * DELIVERY_BUFFER_FULL (that is how the sender is told). Nothing is dropped.
   */
  private accept(held: Held): undefined | Promise<void> {
    const { unit, peer } = held
    const keys = held.keys ?? unitKeys(unit)
    const sid = keys.sid
    const session = this.sessions.get(sid)
    if (!session && unit.round === CONTROL_ROUND && unit.kind === PROPOSAL_KIND) {
      return this.onProposal(held, sid)
    }
    if (!session) {
      if (this.runSessions.has(sid)) {
        this.refuse('SESSION_CLOSED', peer, sid, 'message for a session already over')
        return
      }
      // an envelope of a full-form batch is a view into the whole batch, a single one into its
      // frame (a compact batch's are rebuilt in buffers of their own): hold a copy of its bytes
      const item = pinsMore(unit.bytes) ? { ...held, unit: detached(unit) } : held
      const why = this.unknown.hold(sid, { from: peer, bytes: unit.bytes.length, item })
      if (why) this.refuse(why, peer, sid, 'unknown-session buffer is full for this sender')
      return
    }
    if (!session.participants.has(peer)) {
      this.refuse('ENVELOPE_NOT_PARTICIPANT', peer, sid, 'sender is not a participant of the session')
      return
    }
    const broadcast = equalBytes(unit.recipient, BROADCAST_RECIPIENT)
    if (!broadcast && !equalBytes(unit.recipient, this.selfBytes)) {
      this.refuse('ENVELOPE_WRONG_RECIPIENT', peer, sid, 'envelope addressed to another party')
      return
    }
    const stream = keys.stream
    // freshness is checked once per stream (sessionId, from, epoch), at its first unit
    const freshKey = keys.fresh
    if (!session.freshStreams.has(freshKey)) {
      const expected = this.now() + held.clockOffsetMs
      const skew = Math.abs(Number(unit.timestamp) - expected)
      if (skew > this.limits.skewMs) {
        this.refuse('ENVELOPE_STALE', peer, sid, `timestamp ${skew} ms away from the sender's clock`)
        return
      }
    }
    if (session.replay.seen(stream, unit.seq)) {
      if (held.resent) {
        this.counter.duplicates++
        return
      }
      this.refuse('ENVELOPE_REPLAY', peer, sid, `sequence ${unit.seq} already delivered`)
      return
    }
    if (unit.round === CONTROL_ROUND && (unit.kind === ACK_KIND || unit.kind === START_KIND)) {
      session.replay.add(stream, unit.seq)
      this.onControl(session, peer, unit.kind, broadcast)
      return
    }
    if (unit.round === CONTROL_ROUND && unit.kind === PROPOSAL_KIND && broadcast) {
      session.replay.add(stream, unit.seq) // the proposal of a session already joined
      return
    }
    if (unit.round === CONTROL_ROUND) {
      if (unit.kind !== ABORT_KIND || !broadcast) {
        this.refuse(
          'ROUND_RESERVED',
          peer,
          sid,
          `round 0 is reserved for control, got kind ${JSON.stringify(unit.kind)}`,
        )
        return
      }
      session.replay.add(stream, unit.seq)
      this.onRemoteAbort(session, peer, unit.body)
      return
    }
    if (session.status !== 'open') {
      this.refuse('SESSION_CLOSED', peer, sid, `session is ${session.status}`)
      return
    }
    if (session.tooFarAhead(unit.round)) {
      this.refuse(
        'FUTURE_ROUND',
        peer,
        sid,
        `round ${unit.round} is too far ahead of round ${session.currentRound}`,
      )
      return
    }
    if (session.inbox.isFull(peer)) {
      this.counter.inboxWaits++
      this.emit({ type: 'backpressure', peer, sessionId: sid, held: session.inbox.held(peer) })
      return session.inbox.waitForRoom(peer).then(() => this.accept(held))
    }
    const key = { from: peer, round: unit.round, kind: unit.kind, broadcast }
    // a batched body is a view into its whole batch (up to maxMessageBytes), a single one into
    // its frame (up to 64 KiB): keep a copy of its own bytes when that is much less
    const body = pinsMore(unit.body) ? unit.body.slice() : unit.body
    if (this.outbox)
      this.journal({
        type: 'accept',
        sessionId: sid,
        key,
        body,
        replayStream: stream,
        replaySeq: Number(unit.seq),
        fresh: freshKey,
        deliverySeq: held.deliverySeq === undefined ? -1 : Number(held.deliverySeq),
      })
    if (held.deliverySeq !== undefined) {
      const d = this.peerDelivery(peer)
      if (d.journaled < held.deliverySeq + 1n) d.journaled = held.deliverySeq + 1n
    }
    session.inbox.put(key, body)
    if (broadcast) {
      const key = `${peer}|${unit.round}|${unit.kind}`
      if (!session.broadcastUnits.has(key)) session.broadcastUnits.set(key, unit.bytes)
    }
    session.replay.add(stream, unit.seq)
    session.freshStreams.add(freshKey)
    this.emit({
      type: 'message',
      sessionId: sid,
      from: peer,
      round: unit.round,
      kind: unit.kind,
      broadcast,
      bytes: unit.body.length,
    })
  }

  /** A proposal for a session not opened here: check it and tell the application. */
  private async onProposal(held: Held, sid: SessionId): Promise<void> {
    const { unit, peer } = held
    if (this.runSessions.has(sid) || this.pendingProposals.has(sid)) return
    const bad = (why: string): void => this.refuse('PROPOSAL_INVALID', peer, sid, why)
    if (!equalBytes(unit.recipient, BROADCAST_RECIPIENT)) {
      bad('a proposal is a broadcast')
      return
    }
    const skew = Math.abs(Number(unit.timestamp) - (this.now() + held.clockOffsetMs))
    if (skew > this.limits.skewMs) {
      this.refuse('ENVELOPE_STALE', peer, sid, `proposal timestamp ${skew} ms away from the sender's clock`)
      return
    }
    let p: ReturnType<typeof decodeProposal>
    try {
      p = decodeProposal(unit.body)
    } catch (e) {
      bad(`undecodable proposal: ${e instanceof Error ? e.message : String(e)}`)
      return
    }
    if (!p.participants.includes(p.proposer)) {
      bad('the proposer is not one of the participants')
      return
    }
    if (deriveSessionId(p) !== sid) {
      bad('session id does not match the proposal')
      return
    }
    if (p.proposer !== peer) {
      bad('the proposer is not the sender')
      return
    }
    if (!p.participants.includes(this.self)) {
      bad('this party is not a participant')
      return
    }
    if (this.pendingProposals.size >= this.limits.unknownSessionMaxSessions) {
      this.refuse('UNKNOWN_SESSION_OVER_CAP', peer, sid, 'too many pending proposals')
      return
    }
    let grant: ProposalInfo['grant']
    if (p.grant || this.requireGrant) {
      if (!p.grant) {
        this.refuse('GRANT_REQUIRED', peer, sid, 'a proposal without the grant this party requires')
        return
      }
      try {
        const g = await checkGrant(this.crypto, p.grant, {
          sessionId: sid,
          participants: p.participants,
          self: this.self,
          issuers: this.grantIssuers,
          store: this.grantStore,
          now: this.now(),
        })
        grant = { grantId: g.grantId, issuer: g.issuer, expiresAt: g.expiresAt, threshold: g.threshold }
      } catch (e) {
        this.refuse(errorCode(e) ?? 'GRANT_INVALID', peer, sid, e instanceof Error ? e.message : String(e))
        return
      }
    }
    if (this.runSessions.has(sid) || this.pendingProposals.has(sid)) return
    const info: ProposalInfo = {
      sessionId: sid,
      protocol: p.protocol,
      params: p.params,
      participants: [...p.participants],
      proposer: p.proposer,
      receivedAt: this.now(),
      ...(grant ? { grant } : {}),
    }
    this.pendingProposals.set(sid, info)
    this.preimages.set(sid, encodeProposal(p))
    this.emit({ type: 'proposal', proposal: info })
  }

  proposals(): ProposalInfo[] {
    const cutoff = this.now() - this.limits.unknownSessionHoldMs
    for (const [sid, p] of this.pendingProposals) if (p.receivedAt < cutoff) this.pendingProposals.delete(sid)
    return [...this.pendingProposals.values()]
  }

  async propose(options: ProposeOptions): Promise<SessionId> {
    const input = {
      protocol: options.protocol,
      params: options.params ?? new Uint8Array(0),
      participants: [...options.participants],
      proposer: this.self,
      nonce: options.nonce ?? this.crypto.randomBytes(32),
    }
    const id = deriveSessionId(input)
    if (options.grant || this.requireGrant) {
      if (!options.grant)
        throw new ConclaveError('GRANT_REQUIRED', 'this party requires a grant for every session')
      const g = await checkGrant(this.crypto, options.grant, {
        sessionId: id,
        participants: input.participants,
        self: this.self,
        issuers: this.grantIssuers,
        store: this.grantStore,
        now: this.now(),
      })
      this.grantStore.add(g.grantId, g.expiresAt)
    }
    const body = encodeProposal(input, options.grant)
    this.openSession(
      {
        id,
        participants: input.participants,
        ...(options.roundTimeoutMs !== undefined ? { roundTimeoutMs: options.roundTimeoutMs } : {}),
        ...(options.roundTimeouts !== undefined ? { roundTimeouts: options.roundTimeouts } : {}),
      },
      true,
    )
    const s = this.session(id)
    s.proposal = encodeProposal(input)
    s.proposer = this.self
    const seq = s.nextSeq('broadcast')
    await this.dispatch(
      this.payload(s, CONTROL_ROUND, PROPOSAL_KIND, body, seq),
      BROADCAST_RECIPIENT,
      s.others,
      { session: s, stream: 'broadcast', seq },
    )
    return id
  }

  private refuse(
    code: ErrorCode,
    peer: PartyId | undefined,
    sessionId: SessionId | undefined,
    reason: string,
  ): void {
    this.counter.drop(code)
    this.emit({ type: 'drop', code, peer, sessionId, reason })
    if (peer && this.guard.penalize(peer, code))
      this.cutOff(peer, `penalty score over ${this.limits.penaltyThreshold}`)
  }

  /** Who may complete a handshake: not a banned peer, a roster member, within the peer limit. */
  private admit(peer: PartyId): ErrorCode | undefined {
    if (this.guard.banned(peer)) return 'PEER_BANNED'
    if (this.config.roster && !this.config.roster.has(peer)) return 'HANDSHAKE_NOT_IN_ROSTER'
    if (!this.readyLinks.has(peer) && this.readyLinks.size >= this.limits.maxPeers) return 'PEER_LIMIT'
    return undefined
  }

  /** Disconnect `peer` and refuse it for the cool-down; the others are untouched. */
  private cutOff(peer: PartyId, reason: string): void {
    if (this.guard.banned(peer)) return
    this.guard.ban(peer)
    this.counter.drop('PEER_BANNED')
    this.emit({ type: 'drop', code: 'PEER_BANNED', peer, reason })
    for (const l of [...this.links.values()]) {
      if (l.info.peer === peer || l.result?.peer === peer) l.channel.close('PEER_BANNED', reason)
    }
  }

  // ── sending ───────────────────────────────────────────────────────────────────────────

  /**
   * Queue a payload for `recipient`; it is signed on the next turn of the event loop with what
   * else was queued meanwhile (`signPending`). Delivery keeps call order per peer.
   */
  private dispatch(
    payload: Uint8Array,
    recipient: Uint8Array,
    to: readonly PartyId[],
    ref: StreamRef,
    onUnit?: (unit: Uint8Array) => void,
  ): Promise<void> {
    const timestamp = BigInt(Math.floor(this.now()))
    return new Promise<void>((resolve, reject) => {
      const item: PendingUnit = { payload, recipient, timestamp, to, ref, onUnit, resolve, reject }
      if (this.signScheduled) {
        this.pending.push(item)
        return
      }
      // the first send of this turn is signed and sent now, alone: latency never waits for a
      // batch; what follows it in the same turn queues up and is signed together next turn
      this.signScheduled = true
      nextTurn(() => this.signPending())
      this.runJobs([{ items: [item], bytes: payload.length, batch: false }])
    })
  }

  private pending: PendingUnit[] = []
  private signScheduled = false
  /** Jobs signing asynchronously (a WebCrypto backend): later jobs are delivered after them. */
  private signing = 0

  /**
   * Sign what was queued since the last turn (DESIGN "Envelope", batch): direct units that wait
   * for the same peer travel as one batch signed once over their digests; a unit alone, and every
   * broadcast, is signed by itself (so latency never waits for a batch, and consistent broadcast
   * keeps single signatures as evidence). Jobs are delivered in order after the ones before.
   */
  private signPending(): void {
    const items = this.pending
    this.pending = []
    const jobs: SignJob[] = []
    const open = new Map<PartyId, SignJob>()
    const maxUnits = Math.min(this.limits.maxBatchUnits, MAX_BATCH_UNITS)
    // a batch is one unit on the wire: it must also fit the largest unit a channel takes
    // (maxMessageBytes + 1 KiB), counted with its framing (batchWireBytes)
    const maxWire = this.limits.maxMessageBytes + 1024
    for (const it of items) {
      const peer = it.to.length === 1 ? it.to[0]! : undefined
      if (peer !== undefined && maxUnits >= 2 && !equalBytes(it.recipient, BROADCAST_RECIPIENT)) {
        let job = open.get(peer)
        if (
          !job ||
          job.items.length >= maxUnits ||
          job.bytes + it.payload.length > this.limits.maxBatchBytes ||
          batchWireBytes(job.items.length + 1, job.bytes + it.payload.length) > maxWire
        ) {
          job = { items: [], bytes: 0, batch: true }
          jobs.push(job)
          open.set(peer, job)
        }
        job.items.push(it)
        job.bytes += it.payload.length
        continue
      }
      // what follows for these peers goes after this unit
      for (const p of it.to) open.delete(p)
      jobs.push({ items: [it], bytes: it.payload.length, batch: false })
    }
    // still scheduled while these are delivered: a send made from inside (an event listener)
    // queues behind them instead of jumping ahead, and is signed on the next turn
    try {
      this.runJobs(jobs)
    } finally {
      this.signScheduled = false
      if (this.pending.length > 0) {
        this.signScheduled = true
        nextTurn(() => this.signPending())
      }
    }
  }

  /**
   * Sign jobs and deliver them in order, after the jobs before them. With a synchronous signer
   * and nothing still signing, that happens now, on this stack; otherwise on the send chain.
   */
  private runJobs(jobs: SignJob[]): void {
    if (jobs.length === 0) return
    const signed = jobs.map((job): Uint8Array | Promise<Uint8Array> | Error => {
      try {
        return this.sign(job)
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e))
      }
    })
    if (this.signing === 0 && signed.every((u) => !(u instanceof Promise))) {
      this.deliverJobs(jobs, signed as (Uint8Array | Error)[])
      return
    }
    this.signing++
    const done = this.sendChain.then(async () => {
      const units: (Uint8Array | Error)[] = []
      for (const u of signed) {
        try {
          units.push(await u)
        } catch (e) {
          units.push(e instanceof Error ? e : new Error(String(e)))
        }
      }
      this.deliverJobs(jobs, units)
    })
    this.sendChain = done
      .catch(() => undefined)
      .finally(() => {
        this.signing--
      })
  }

  /** Hand signed jobs to delivery, settle their sends, and frame what they queued at once. */
  private deliverJobs(jobs: readonly SignJob[], units: readonly (Uint8Array | Error)[]): void {
    const touched = new Set<LinkState>()
    for (const [i, job] of jobs.entries()) {
      try {
        const unit = units[i]!
        if (unit instanceof Error) throw unit
        // stopped while signing: not journaled, so not sent (a resumed session sends it again)
        if (this.stopped)
          throw new ConclaveError('SESSION_CLOSED', 'the party stopped before the unit was queued')
        for (const it of job.items) it.onUnit?.(unit)
        this.deliver(
          job.items[0]!.to,
          unit,
          job.items.map((it) => it.ref),
          touched,
        )
        for (const it of job.items) it.resolve()
      } catch (e) {
        for (const it of job.items) it.reject(e)
      }
    }
    // frame what this queued now, rather than one more turn later
    for (const link of touched) if (!link.channel.isClosed) link.channel.flush()
  }

  /** The unit of a job: a single envelope, or a batch when the job holds several. */
  private sign(job: SignJob): Uint8Array | Promise<Uint8Array> {
    const key = this.config.identity
    if (job.items.length === 1) {
      const it = job.items[0]!
      const sig = signNow(this.crypto, key, envelopeSignedBytes(it.payload, it.recipient, it.timestamp))
      return sig instanceof Uint8Array
        ? encodeUnit(it.payload, it.recipient, it.timestamp, sig)
        : sig.then((s) => encodeUnit(it.payload, it.recipient, it.timestamp, s))
    }
    // the digests are over the envelopes' own signed bytes, whatever form the batch travels in
    const sig = signNow(this.crypto, key, batchSignedBytes(batchItemDigests(this.crypto, job.items)))
    const fill = (s: Uint8Array): Uint8Array => encodeBatch(job.items, s)
    return sig instanceof Uint8Array ? fill(sig) : sig.then(fill)
  }

  /**
   * Hand a unit (or a batch) to the delivery streams of its recipients: it is kept until
   * acknowledged, journaled in the outbox store (one record for all recipients, so a crash
   * queues it for all or none), then sent now where a link is ready and on the next link
   * otherwise.
   * @throws ConclaveError `DELIVERY_BUFFER_FULL` (the recipients queued before it keep the unit)
   */
  private deliver(
    to: readonly PartyId[],
    unit: Uint8Array,
    refs: readonly StreamRef[],
    touched?: Set<LinkState>,
  ): void {
    const queued: { peer: PartyId; seq: number }[] = []
    let full: unknown
    for (const peer of to) {
      try {
        queued.push({ peer, seq: Number(this.peerDelivery(peer).enqueue(unit)) })
      } catch (e) {
        full = e
        break
      }
    }
    if (queued.length > 0 && this.outbox) {
      const [first, ...more] = refs
      this.journal({
        type: 'enqueue',
        sessionId: first!.session.id,
        stream: first!.stream,
        streamSeq: Number(first!.seq),
        unit,
        to: queued,
        ...(more.length > 0
          ? {
              more: more.map((r) => ({
                sessionId: r.session.id,
                stream: r.stream,
                streamSeq: Number(r.seq),
              })),
            }
          : {}),
      })
    }
    for (const { peer } of queued) {
      const link = this.readyLinks.get(peer)
      if (link && !link.channel.isClosed) {
        this.transmit(link, unit, refs.length)
        touched?.add(link)
      } else this.out.requestLink(peer)
    }
    if (full !== undefined) throw full
  }

  private transmit(link: LinkState, unit: Uint8Array, messages: number): void {
    const peer = link.result?.peer
    if (peer !== undefined) this.ackOnTheWay(peer, link)
    // a peer on protocol version 1 reads only the full form of a batch: the same envelopes and
    // signature, rebuilt (a unit kept from before the link, or a peer that went back a release)
    if (unit[0] === COMPACT_BATCH_MARKER && (link.result?.version ?? 1) < COMPACT_BATCH_VERSION)
      unit = expandCompactBatch(unit, this.limits.maxMessageBytes)
    link.channel.sendUnit(unit)
    this.counter.of(link.info.kind).messagesSent += messages
    if (isBatchUnit(unit)) this.counter.batchesSent++
  }

  // ── sessions ──────────────────────────────────────────────────────────────────────────

  /**
   * Open a session. With grants required, only a session whose proposal carried a valid grant
   * (or that this party proposed with one) may open; the grantId is then spent.
   * @throws ConclaveError `SESSION_EXISTS`, `GRANT_REQUIRED`, `GRANT_EXPIRED`, `GRANT_REPLAYED`
   */
  openSession(options: SessionOptions, proposedHere = false): void {
    if (this.dormant.delete(options.id)) {
      // resumed from the outbox store: it already accepts units; the application is back
      const s = this.sessions.get(options.id)!
      this.emit({ type: 'session', sessionId: s.id, state: 'opened' })
      for (const peer of s.others) if (!this.readyLinks.has(peer)) this.out.requestLink(peer)
      return
    }
    if (this.sessions.has(options.id) || this.runSessions.has(options.id)) {
      throw new ConclaveError(
        'SESSION_EXISTS',
        `session ${options.id.slice(0, 16)}… was already opened by this party`,
      )
    }
    const grant = this.pendingProposals.get(options.id)?.grant
    if (grant) {
      if (grant.expiresAt <= this.now())
        throw new ConclaveError('GRANT_EXPIRED', 'the grant expired before joining')
      if (this.grantStore.has(grant.grantId)) {
        throw new ConclaveError('GRANT_REPLAYED', `grant ${grant.grantId} was used before`)
      }
      this.grantStore.add(grant.grantId, grant.expiresAt)
    } else if (this.requireGrant && !proposedHere) {
      throw new ConclaveError('GRANT_REQUIRED', 'this party requires a granted proposal for every session')
    }
    const proposal = this.pendingProposals.get(options.id)
    const s = new SessionState(options, this.self, this.limits, this.now())
    s.proposal = this.preimages.get(s.id)
    if (proposal) s.proposer = proposal.proposer
    this.preimages.delete(s.id)
    this.pendingProposals.delete(s.id)
    this.journal({
      type: 'open',
      session: {
        id: s.id,
        participants: [...options.participants],
        ...(options.roundTimeoutMs !== undefined ? { roundTimeoutMs: options.roundTimeoutMs } : {}),
        ...(options.roundTimeouts !== undefined ? { roundTimeouts: options.roundTimeouts } : {}),
      },
    })
    this.sessions.set(s.id, s)
    this.runSessions.add(s.id)
    this.counter.sessionsOpened++
    this.emit({ type: 'session', sessionId: s.id, state: 'opened' })
    for (const peer of s.others) if (!this.readyLinks.has(peer)) this.out.requestLink(peer)
    // held units were processed (and acknowledged) long ago: their delivery numbers are stale
    for (const held of this.unknown.release(s.id)) this.accept({ ...held.item, deliverySeq: undefined })
    // joining a proposed session: tell the proposer (it sends `start` when everyone has)
    if (proposal && proposal.proposer !== this.self) {
      const to = proposal.proposer
      const seq = s.nextSeq(to)
      void this.dispatch(
        this.payload(s, CONTROL_ROUND, ACK_KIND, new Uint8Array(0), seq),
        partyIdToBytes(to),
        [to],
        { session: s, stream: to, seq },
      ).catch(() => undefined)
    }
  }

  private session(id: SessionId): SessionState {
    const s = this.sessions.get(id)
    if (!s && this.stopped) throw new ConclaveError('SESSION_CLOSED', 'the party has stopped')
    if (!s) throw new ConclaveError('SESSION_UNKNOWN', `no open session ${String(id).slice(0, 16)}…`)
    return s
  }

  private checkRound(round: number): void {
    if (!Number.isInteger(round) || round < 1 || round > 0xffffffff) {
      throw new ConclaveError(
        'ROUND_RESERVED',
        `"round" expected an integer from 1 to 2³²−1 (0 is the control round), got ${round}`,
      )
    }
  }

  private checkPeer(s: SessionState, peer: PartyId, what: string): void {
    if (peer === this.self || !s.participants.has(peer)) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"${what}" expected another participant of the session, got ${String(peer).slice(0, 16)}…`,
      )
    }
  }

  async send(
    sessionId: SessionId,
    to: PartyId,
    round: number,
    body: Uint8Array,
    kind = DEFAULT_KIND,
  ): Promise<void> {
    const s = this.session(sessionId)
    s.assertOpen()
    this.checkPeer(s, to, 'to')
    this.checkRound(round)
    this.touch(s, round)
    const seq = s.nextSeq(to)
    const payload = this.payload(s, round, kind, body, seq)
    await this.dispatch(payload, s.bytesOf(to), [to], { session: s, stream: to, seq })
  }

  async broadcast(sessionId: SessionId, round: number, body: Uint8Array, kind = DEFAULT_KIND): Promise<void> {
    const s = this.session(sessionId)
    s.assertOpen()
    this.checkRound(round)
    this.touch(s, round)
    const seq = s.nextSeq('broadcast')
    const payload = this.payload(s, round, kind, body, seq)
    const key = `${this.self}|${round}|${kind}`
    await this.dispatch(
      payload,
      BROADCAST_RECIPIENT,
      s.others,
      { session: s, stream: 'broadcast', seq },
      (unit) => {
        if (!s.broadcastUnits.has(key)) s.broadcastUnits.set(key, unit)
      },
    )
  }

  private payload(s: SessionState, round: number, kind: string, body: Uint8Array, seq: bigint): Uint8Array {
    if (!(body instanceof Uint8Array))
      throw new ConclaveError('INVALID_ARGUMENT', '"body" expected Uint8Array')
    return encodePayload(
      { sessionId: s.idBytes, round, kind, from: this.selfBytes, epoch: this.epoch, seq, body },
      this.limits.maxMessageBytes,
    )
  }

  async receive(
    sessionId: SessionId,
    from: PartyId,
    round: number,
    options: ReceiveOptions = {},
  ): Promise<Uint8Array> {
    // a message already waiting: no timer, no wait (the common case of a stream read in a loop)
    if (options.signal?.aborted !== true) {
      const s = this.session(sessionId)
      s.assertOpen()
      this.checkRound(round)
      this.checkPeer(s, from, 'from')
      const key = { from, round, kind: options.kind ?? DEFAULT_KIND, broadcast: options.broadcast ?? false }
      const body = s.inbox.tryTake(key)
      if (body !== undefined) {
        this.touch(s, round)
        if (this.outbox) this.journal({ type: 'take', sessionId: s.id, key })
        return body
      }
    }
    const result = await this.collectFrom(sessionId, [from], round, options)
    return result.get(from)!
  }

  async collect(
    sessionId: SessionId,
    round: number,
    options: ReceiveOptions = {},
  ): Promise<Map<PartyId, Uint8Array>> {
    const s = this.session(sessionId)
    const got = await this.collectFrom(sessionId, s.others, round, options)
    if (options.consistent) {
      if (!options.broadcast)
        throw new ConclaveError('INVALID_ARGUMENT', '"consistent" applies to broadcasts only')
      await this.echo(s, round, options.kind ?? DEFAULT_KIND, options)
    }
    return got
  }

  /**
   * The echo step of consistent broadcast: send the signed units of the round to everyone and
   * check theirs as they arrive. Two validly signed units from one sender with different bodies
   * abort the session with EQUIVOCATION and the evidence.
   */
  private async echo(s: SessionState, round: number, kind: string, options: ReceiveOptions): Promise<void> {
    const order = [...s.participants].sort()
    const units = order.map((p) => s.broadcastUnits.get(`${p}|${round}|${kind}`))
    if (units.some((u) => u === undefined)) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `consistent collect of round ${round}: this party has not broadcast in it`,
      )
    }
    const mine = (units as Uint8Array[]).map((u) => decodeUnit(u, this.limits.maxMessageBytes))
    await this.broadcast(s.id, round, encodeEcho(units as Uint8Array[]), echoKind(kind))
    const check = async (q: PartyId, body: Uint8Array): Promise<void> => {
      let echoed: Uint8Array[]
      try {
        echoed = decodeEcho(body)
      } catch {
        echoed = []
      }
      if (echoed.length !== order.length) return this.badEcho(s, q, 'malformed echo')
      for (const [i, bytes] of echoed.entries()) {
        const ours = mine[i]!
        let theirs: EnvelopeUnit
        try {
          theirs = decodeUnit(bytes, this.limits.maxMessageBytes)
        } catch {
          return this.badEcho(s, q, 'undecodable unit in echo')
        }
        if (equalBytes(theirs.body, ours.body)) continue
        const sameSlot =
          equalBytes(theirs.from, ours.from) &&
          equalBytes(theirs.sessionId, ours.sessionId) &&
          theirs.round === ours.round &&
          theirs.kind === ours.kind &&
          equalBytes(theirs.recipient, BROADCAST_RECIPIENT)
        const signed =
          sameSlot &&
          (await this.crypto.ed25519.verify(
            theirs.from,
            envelopeSignedBytes(theirs.payload, theirs.recipient, theirs.timestamp),
            theirs.signature,
          ))
        if (!signed) return this.badEcho(s, q, 'echo holds a unit its sender did not sign')
        const evidence = equivocationEvidence(ours, theirs, s.proposal)
        const err = equivocationError(evidence)
        await this.abortWith(s, err, [])
        throw err
      }
    }
    await Promise.all(
      s.others.map((q) =>
        this.receive(s.id, q, round, {
          ...options,
          kind: echoKind(kind),
          broadcast: true,
          consistent: false,
        }).then((body) => check(q, body)),
      ),
    )
    if (s.failure) throw s.failure
  }

  /** `ack` (to the proposer) and `start` (from the proposer) of the control round. */
  private onControl(s: SessionState, peer: PartyId, kind: string, broadcast: boolean): void {
    if (kind === ACK_KIND && !broadcast && s.proposer === this.self) {
      s.acks.add(peer)
      if (s.startedAt === undefined && s.others.every((p) => s.acks.has(p))) {
        this.markStarted(s)
        const seq = s.nextSeq('broadcast')
        void this.dispatch(
          this.payload(s, CONTROL_ROUND, START_KIND, new Uint8Array(0), seq),
          BROADCAST_RECIPIENT,
          s.others,
          { session: s, stream: 'broadcast', seq },
        ).catch(() => undefined)
      }
      return
    }
    if (kind === START_KIND && broadcast && peer === s.proposer) {
      this.markStarted(s)
      return
    }
    this.refuse('ROUND_RESERVED', peer, s.id, `unexpected control message ${kind}`)
  }

  private markStarted(s: SessionState): void {
    if (s.startedAt !== undefined) return
    s.startedAt = this.now()
    for (const w of s.startWaiters.splice(0)) w.resolve()
  }

  async started(sessionId: SessionId, options: { timeoutMs?: number } = {}): Promise<void> {
    const s = this.session(sessionId)
    s.assertOpen()
    if (s.proposer === undefined || s.startedAt !== undefined) return
    const ms = options.timeoutMs ?? this.limits.roundTimeoutMs
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const silent = s.proposer === this.self ? s.others.filter((p) => !s.acks.has(p)) : [s.proposer!]
        const err = new ConclaveError(
          'ROUND_TIMEOUT',
          `session did not start: no word from ${silent.length}`,
          {
            round: CONTROL_ROUND,
            silent,
          },
        )
        void this.abortWith(s, err, silent)
        reject(err)
      }, ms)
      s.startWaiters.push({
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
    })
  }

  /** A participant's echo is garbage: abort, naming it (its echo is signed by it). */
  private async badEcho(s: SessionState, q: PartyId, why: string): Promise<never> {
    const err = new ConclaveError('SESSION_ABORTED', `bad echo from ${q.slice(0, 16)}…: ${why}`, {
      culprit: q,
    })
    await this.abortWith(s, err, [])
    throw err
  }

  private collectFrom(
    sessionId: SessionId,
    from: readonly PartyId[],
    round: number,
    options: ReceiveOptions,
  ): Promise<Map<PartyId, Uint8Array>> {
    const s = this.session(sessionId)
    s.assertOpen()
    this.checkRound(round)
    for (const f of from) this.checkPeer(s, f, 'from')
    this.touch(s, round)
    const kind = options.kind ?? DEFAULT_KIND
    const broadcast = options.broadcast ?? false
    const got = new Map<PartyId, Uint8Array>()
    const keys = from.map((f) => ({ from: f, round, kind, broadcast }))
    const takes: ReturnType<typeof s.inbox.take>[] = []
    return new Promise((resolve, reject) => {
      let settled = false
      const finish = (e?: unknown): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        if (e === undefined) resolve(got)
        else {
          for (const [i, k] of keys.entries()) if (!got.has(k.from)) takes[i]?.cancel(e)
          reject(e)
        }
      }
      const explicit = options.timeoutMs !== undefined
      const ms = explicit ? options.timeoutMs! : Math.max(0, s.deadline(round) - this.now())
      const timer = setTimeout(() => {
        const silent = from.filter((f) => !got.has(f))
        const err = new ConclaveError(
          'ROUND_TIMEOUT',
          `round ${round}: no message from ${silent.length} part${silent.length === 1 ? 'y' : 'ies'}`,
          {
            round,
            silent,
          },
        )
        finish(err)
        if (!explicit) void this.abortWith(s, err, silent)
      }, ms)
      const onAbort = (): void => finish(new ConclaveError('ABORTED', 'receive aborted by its signal'))
      if (options.signal?.aborted) return onAbort()
      options.signal?.addEventListener('abort', onAbort)
      for (const k of keys) {
        const t = s.inbox.take(k)
        takes.push(t)
        t.then(
          (body) => {
            if (settled) {
              s.inbox.putBack(k, body) // the wait ended first: the message stays for the next receive
              return
            }
            // journaled before the application sees it: after a restart it is not offered again
            this.journal({ type: 'take', sessionId: s.id, key: k })
            got.set(k.from, body)
            if (got.size === keys.length) finish()
          },
          (e: unknown) => finish(e),
        )
      }
    })
  }

  async abort(sessionId: SessionId, reason: string): Promise<void> {
    const s = this.session(sessionId)
    if (s.status !== 'open') return
    await this.abortWith(
      s,
      new ConclaveError('SESSION_ABORTED', `aborted by this party: ${reason}`, { by: this.self, reason }),
      [],
    )
  }

  /** Abort locally and tell the others with a signed, final abort envelope. */
  private async abortWith(s: SessionState, err: ConclaveError, silent: PartyId[]): Promise<void> {
    if (s.status !== 'open') return
    const code = err.code
    this.fail(s, err, undefined, silent)
    const body = new Writer(64).str16(code).str16(err.message.slice(0, 500)).finish()
    try {
      const seq = s.nextSeq('broadcast')
      await this.dispatch(
        this.payload(s, CONTROL_ROUND, ABORT_KIND, body, seq),
        BROADCAST_RECIPIENT,
        s.others,
        { session: s, stream: 'broadcast', seq },
      )
    } catch (e) {
      this.refuse(errorCode(e) ?? 'PEER_UNREACHABLE', undefined, s.id, `abort not sent: ${String(e)}`)
    }
  }

  private onRemoteAbort(s: SessionState, by: PartyId, body: Uint8Array): void {
    let code: ErrorCode = 'SESSION_ABORTED'
    let reason = ''
    try {
      const r = new Reader(body)
      const c = r.str16('abort code')
      reason = r.str16('abort reason')
      r.end('abort')
      if (isErrorCode(c)) code = c
    } catch {
      reason = 'malformed abort reason'
    }
    const err = new ConclaveError('SESSION_ABORTED', `aborted by ${by.slice(0, 16)}…: ${code} ${reason}`, {
      by,
      code,
      reason,
    })
    this.fail(s, err, by)
  }

  private fail(s: SessionState, err: ConclaveError, by?: PartyId, silent?: PartyId[]): void {
    if (s.status !== 'open') return
    s.status = 'aborted'
    s.failure = err
    this.journal({ type: 'end', sessionId: s.id })
    s.inbox.fail(err)
    this.counter.sessionsAborted++
    const code =
      typeof err.details.code === 'string' && isErrorCode(err.details.code) ? err.details.code : err.code
    this.emit({
      type: 'session',
      sessionId: s.id,
      state: 'aborted',
      code,
      reason: err.message,
      ...(by ? { by } : {}),
      ...(silent && silent.length > 0 ? { silent } : {}),
    })
  }

  closeSession(sessionId: SessionId): void {
    const s = this.sessions.get(sessionId)
    if (!s) return
    if (s.status === 'open') {
      s.status = 'closed'
      s.inbox.fail(new ConclaveError('SESSION_CLOSED', 'session closed'))
    }
    // closed by the application (not by stop(): a stopped host's sessions resume next time)
    this.journal({ type: 'end', sessionId })
    this.sessions.delete(sessionId)
    this.dormant.delete(sessionId)
    this.emit({ type: 'session', sessionId, state: 'closed' })
  }

  // ── introspection ─────────────────────────────────────────────────────────────────────

  peers(): PeerInfo[] {
    const now = this.now()
    return [...this.readyLinks.values()].map((l) => {
      const peer = l.result!.peer
      const r = this.record(peer)
      const reliability = r.handshakes / Math.max(1, r.handshakes + r.failures)
      const uptime = 0.5 + 0.5 * Math.min(1, (now - r.firstSeen) / 3_600_000)
      return {
        peer,
        transport: l.info.kind as TransportKind,
        since: l.since,
        clockOffsetMs: l.result!.clockOffsetMs,
        rttMs: l.rttMs,
        health: 0.4 * reliability + 0.3 * l.latencyScore + 0.3 * uptime,
        pendingUnits: this.deliveries.get(peer)?.pendingCount ?? 0,
        pendingBytes: this.deliveries.get(peer)?.pendingBytes ?? 0,
      }
    })
  }

  counters(): CounterSnapshot {
    return this.counter.snapshot()
  }

  /** Bytes held in reassembly for `peer`'s ready link (for cap tests and metrics). */
  reassemblyBytes(peer: PartyId): number {
    return this.readyLinks.get(peer)?.channel.reassemblyBytes ?? 0
  }

  /** Sessions held in the unknown-session buffer, and bytes held for `from`. */
  unknownSessionUsage(from: PartyId): { sessions: number; bytes: number } {
    return { sessions: this.unknown.sessionCount, bytes: this.unknown.bytesFrom(from) }
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer)
    for (const t of this.ackTimers.values()) clearTimeout(t)
    for (const t of this.relinkTimers.values()) clearTimeout(t)
    this.relinkTimers.clear()
    this.ackTimers.clear()
    for (const s of this.sessions.values()) this.closeSession(s.id)
    for (const l of [...this.links.values()]) l.channel.close('LINK_CLOSED', 'party stopping')
    this.unknown.clear()
    this.outbox?.close()
  }
}

/** A session host running on the caller's thread. */
export function createInThreadSessionHost(config: SessionHostConfig): InThreadSessionHost {
  return new InThreadSessionHost(config)
}
