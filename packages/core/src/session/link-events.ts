/**
 * The host's side of a link's life (DESIGN "Secure channel", "Connections", "Delivery"): a link
 * the connection side opened gets a secure channel; a handshake that completes makes it the
 * peer's ready link (a newer one replaces it, a new peer epoch aborts the peer's sessions and
 * restarts its streams) and resumes delivery on it; records (resume, ack, ping, pong) update the
 * link and streams; a channel that closes is counted, held against the peer only for faults
 * inside authenticated frames, and units still waiting ask for a new link. A handshake that
 * fails on a webrtc link with evidence against the signaling path (`transport/path-evidence.ts`)
 * raises an alarm.
 * @module
 */
import type { ByteBudget } from '../byte-budget.ts'
import { toHex } from '../bytes.ts'
import type { HandshakeResult } from '../channel/handshake.ts'
import type { NextTurn } from '../channel/next-turn.ts'
import { SecureChannel } from '../channel/secure-channel.ts'
import type { Counters } from '../counters.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { type ErrorCode, errorCode } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import { isPathEvidence } from '../transport/path-evidence.ts'
import { COMPACT_BATCH_MARKER, isBatchUnit } from '../wire/envelope.ts'
import { type Record as FrameRecord, RecordType } from '../wire/frame.ts'
import type { PeerGuard } from './guard.ts'
import type { Journal } from './journal.ts'
import type { Limits } from './limits.ts'
import { type HostLink, type LinkTable, newHostLink, noteLink, onPong, relinkLater } from './link-table.ts'
import type { PeerTable } from './peer-table.ts'
import type { ReceivePath } from './receive.ts'
import type { Refusals } from './refusals.ts'
import type { Streams } from './streams.ts'
import type { HostSink, LinkInfo, PartyEvent } from './types.ts'

/** Link-closing faults that only an authenticated peer can cause (after the frame's AEAD). */
const AUTHENTICATED_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CHUNK_INVALID',
  'REASSEMBLY_OVER_CAP',
  'MESSAGE_TOO_LARGE',
  'DELIVERY_GAP',
])

/** What the link side needs of the host. */
export interface LinkEventDeps {
  crypto: CryptoBackend
  identity: SigningKey
  mode: string
  epoch: Uint8Array
  roster: ReadonlySet<PartyId> | undefined
  limits: Limits
  /** Reassembly memory of every link, per peer and in total. */
  reassembly: ByteBudget<PartyId>
  now: () => number
  nextTurn: NextTurn
  counter: Counters
  guard: PeerGuard
  journal: Journal
  peers: PeerTable
  links: LinkTable
  streams: Streams
  inbound: ReceivePath
  refusals: Refusals
  /** The sink (throws `NOT_STARTED` before `connect`). */
  out(): HostSink
  /** The sink, if connected. */
  sink(): HostSink | undefined
  emit(event: PartyEvent): void
  stopped(): boolean
  /** `peer` came back with a new epoch: abort the sessions it takes part in. */
  peerRestarted(peer: PartyId): void
}

/** Opens, runs and closes the host's links. */
export class LinkEvents {
  private readonly relink: Parameters<typeof relinkLater>[1]

  constructor(private readonly deps: LinkEventDeps) {
    this.relink = { stopped: () => deps.stopped(), requestLink: (peer) => deps.sink()?.requestLink(peer) }
  }

  /** While units wait for a peer without a ready link, ask for one (backing off). */
  relinkLater(peer: PartyId): void {
    relinkLater(this.deps.peers.of(peer), this.relink)
  }

  opened(info: LinkInfo): void {
    const d = this.deps
    const traffic = d.counter.of(info.kind)
    const link = newHostLink(
      info,
      d.now(),
      (link) =>
        new SecureChannel(
          {
            crypto: d.crypto,
            identity: d.identity,
            expectedPeer: info.peer,
            initiator: info.initiator,
            mode: d.mode,
            epoch: d.epoch,
            now: d.now,
            fingerprints: info.fingerprints,
            admit: (peer) => this.admit(peer),
            maxFrameSize: info.maxFrameSize,
            maxMessageBytes: d.limits.maxMessageBytes + 1024,
            maxReassemblyBytes: d.limits.maxReassemblyBytes,
            reassemblyBudget: d.reassembly.account(info.peer),
            handshakeTimeoutMs: d.limits.handshakeTimeoutMs,
            rekeyAfterFrames: BigInt(d.limits.rekeyAfterFrames),
            rekeyAfterMs: d.limits.rekeyAfterMs,
            nextTurn: d.nextTurn,
          },
          {
            sendFrame: (frame) => {
              traffic.framesSent++
              traffic.bytesSent += frame.length
              try {
                d.out().sendFrame(info.linkId, frame)
              } catch (e) {
                // the transport found the link dead (wrtc: the data channel closed under us); this
                // runs inside the channel's flush, so the link is finished afterwards, not from here
                const reason = `send failed: ${e instanceof Error ? e.message : String(e)}`
                queueMicrotask(() => this.closed(info.linkId, errorCode(e) ?? 'LINK_CLOSED', reason))
              }
            },
            ready: (result) => this.onReady(link, result),
            unit: (unit) => {
              // a batch's envelopes are counted once it decodes (the receive path)
              if (!isBatchUnit(unit)) traffic.messagesReceived++
              else d.counter.batchesReceived++
              d.inbound.onUnit(link, unit)
              // a compact batch is decoded at once into envelopes of their own (or refused, or
              // skipped as a duplicate): nothing keeps its bytes, which the channel may reuse
              return unit[0] === COMPACT_BATCH_MARKER
            },
            record: (rec) => this.onRecord(link, rec),
            closed: (code, reason, remote) => this.onChannelClosed(link, code, reason, remote),
            // a re-key close carries the ack of what was processed (DESIGN "Frames")
            rekeying: () => {
              const p = link.result && d.peers.find(link.result.peer)
              if (p) d.streams.ackOnTheWay(p, link)
            },
          },
        ),
    )
    d.links.add(link)
    d.emit({ type: 'peer', peer: info.peer, state: 'handshaking', transport: info.kind })
    void link.channel.start()
  }

  frame(linkId: string, frame: Uint8Array): void {
    const link = this.deps.links.get(linkId)
    if (!link) return
    const traffic = this.deps.counter.of(link.info.kind)
    traffic.framesReceived++
    traffic.bytesReceived += frame.length
    link.lastHeard = this.deps.now()
    link.channel.receive(frame)
  }

  closed(linkId: string, code: ErrorCode, reason: string): void {
    const link = this.deps.links.get(linkId)
    if (!link) return
    // the link is gone: finish the channel without trying to send a close record on it
    this.deps.links.delete(linkId)
    link.channel.close(code, reason)
  }

  /** Who may complete a handshake: not a banned peer, a roster member, within the peer limit. */
  private admit(peer: PartyId): ErrorCode | undefined {
    const { guard, roster, peers, limits } = this.deps
    if (guard.banned(peer)) return 'PEER_BANNED'
    if (roster && !roster.has(peer)) return 'HANDSHAKE_NOT_IN_ROSTER'
    if (!peers.find(peer)?.link && peers.readyCount >= limits.maxPeers) return 'PEER_LIMIT'
    return undefined
  }

  private onReady(link: HostLink, result: HandshakeResult): void {
    const d = this.deps
    link.result = result
    link.since = d.now()
    d.counter.handshakes++
    const p = d.peers.of(result.peer)
    noteLink(p, 'handshake', d.now())
    const previous = d.peers.setLink(p, link)
    if (previous && previous !== link) previous.channel.close('LINK_CLOSED', 'replaced by a newer link')
    const epoch = toHex(result.peerEpoch)
    const known = p.epoch
    p.epoch = epoch
    if (known !== undefined && known !== epoch) d.peerRestarted(p.id)
    // A new incarnation of the peer starts both delivery streams afresh; the same one resumes
    // them: everything not acknowledged is sent again after a `resume` naming its number.
    p.relinkTries = 0
    const delivery = p.delivery
    if (delivery.epoch !== epoch) d.journal.peerEpoch(p.id, epoch)
    if (delivery.epoch !== undefined && delivery.epoch !== epoch) delivery.reset(epoch)
    delivery.epoch = epoch
    if (previous || known !== undefined) d.counter.retransmits += delivery.pendingCount
    try {
      d.streams.resume(p, link)
    } catch (e) {
      // cannot happen with units this party made under its limits (restore() refuses a store
      // whose units are over them); if it does, the link is given up without blaming the peer
      const reason = `cannot send a kept unit again: ${e instanceof Error ? e.message : String(e)}`
      d.counter.drop(errorCode(e) ?? 'MESSAGE_TOO_LARGE')
      link.channel.close('LINK_CLOSED', reason)
      return
    }
    d.emit({ type: 'peer', peer: p.id, state: 'ready', transport: link.info.kind })
  }

  private onRecord(link: HostLink, rec: FrameRecord): void {
    const peer = link.result?.peer
    if (rec.type === RecordType.resume) link.cursor = rec.seq
    if (rec.type === RecordType.ack && peer) {
      const p = this.deps.peers.find(peer)
      if (p) this.deps.streams.onAck(p, rec.seq)
    }
    if (rec.type === RecordType.ping) link.channel.sendRecord({ type: RecordType.pong, value: rec.value })
    if (rec.type === RecordType.pong) onPong(link, rec.value, this.deps.now())
  }

  private onChannelClosed(link: HostLink, code: ErrorCode, reason: string, remote: boolean): void {
    const d = this.deps
    const wasReady = link.result !== undefined
    const p = d.peers.of(link.info.peer)
    const peer = p.id
    // a link closed to be re-keyed is no failure: not noted, not dropped, re-made at once
    const rekey = wasReady && code === 'REKEY_DUE'
    if (!rekey && (!wasReady || code !== 'LINK_CLOSED')) noteLink(p, 'failure', d.now())
    if (!wasReady) {
      d.counter.handshakeFailed(code)
      d.emit({ type: 'handshake-failed', peer, code, reason, transport: link.info.kind })
      // evidence against the signaling path: alarm, which blocks relay fallback to this peer
      if (isPathEvidence(link.info.kind, code))
        d.emit({ type: 'alarm', code, peer, reason: `${reason} (signaling path presumed hostile)` })
    } else if (!remote && !rekey && code !== 'LINK_CLOSED' && code !== 'PEER_BANNED') {
      d.counter.drop(code)
      d.emit({ type: 'drop', code, peer, reason })
      // Only what the peer provably sent counts against it: a frame that fails to decrypt, or
      // arrives out of order, may have been forged or damaged by whoever carries it (the
      // network, a relaying signaling server), so penalising it would let them partition
      // honest parties. Content errors inside authenticated frames are the peer's own.
      if (AUTHENTICATED_FAULTS.has(code)) d.refusals.penalize(peer, code)
    }
    if (p.link === link) d.peers.setLink(p, undefined)
    // what the peer has not acknowledged needs a new link (also when this one died handshaking)
    if (!p.link) relinkLater(p, this.relink)
    if (d.links.delete(link.info.linkId)) d.sink()?.closeLink(link.info.linkId, code, reason)
    d.emit({
      type: 'peer',
      peer,
      state: wasReady ? 'lost' : 'closed',
      transport: link.info.kind,
      code,
      reason,
    })
    if (rekey && !d.stopped()) d.sink()?.requestLink(peer)
  }
}
