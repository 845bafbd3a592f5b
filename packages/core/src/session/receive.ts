/**
 * The receive path (DESIGN "On receipt", "Delivery", "Limits"): a unit that arrived on a ready
 * link is charged to the peer's rate guard (throttled, or the peer cut off), bounded by what
 * waits to be processed, numbered on the link (a retransmission is skipped), decoded, checked
 * to come from the link's peer, and verified (one signature for a batch); then each envelope
 * goes to admission (the `accept` dependency), in arrival order on the peer's chain. Once a
 * unit is processed, accepted or refused, the streams acknowledge it. What waits on the chains
 * is bounded per peer (past it the peer is cut off: an honest one never gets there) and for all
 * peers together (past it the link closes without blame, and the unit comes again on the next).
 * @module
 */
import type { ByteBudget } from '../byte-budget.ts'
import { equalBytes, toHex } from '../bytes.ts'
import type { Counters } from '../counters.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { type ErrorCode, errorCode } from '../errors.ts'
import { type PartyId, type SessionId, sessionIdFromBytes } from '../ids.ts'
import {
  decodeBatch,
  decodeUnit,
  type EnvelopeUnit,
  envelopeSignedBytes,
  isBatchUnit,
} from '../wire/envelope.ts'
import { batchDigests, verifyBatch, verifyNow } from './batch.ts'
import type { PeerGuard } from './guard.ts'
import { BATCH_ITEM_CHARGE, type Held, messagesIn, type UnitKeys, unitKeysLike } from './held-unit.ts'
import type { Limits } from './limits.ts'
import type { HostLink } from './link-table.ts'
import type { HostPeer, PeerTable } from './peer-table.ts'
import type { SessionState } from './session-state.ts'
import type { Streams } from './streams.ts'

/** What the receive path needs of the host. */
export interface ReceiveDeps {
  crypto: CryptoBackend
  limits: Limits
  guard: PeerGuard
  counter: Counters
  peers: PeerTable
  streams: Streams
  /** Bytes received and not yet processed, per peer and all peers together. */
  unprocessed: ByteBudget<PartyId>
  /** The session `sid`, if open here (for the participant check before the signature). */
  session(sid: SessionId): SessionState | undefined
  refuse(code: ErrorCode, peer: PartyId | undefined, sessionId: SessionId | undefined, reason: string): void
  cutOff(peer: PartyId, reason: string): void
  /**
   * Admit a verified envelope; a promise when the peer's chain must wait (a full inbox).
   * @throws what admission throws (the unit is then refused)
   */
  accept(held: Held): undefined | Promise<void>
}

/** The receive path of every ready link. */
export class ReceivePath {
  constructor(private readonly deps: ReceiveDeps) {}

  /** A whole unit arrived on `link`. */
  onUnit(link: HostLink, bytes: Uint8Array): void {
    const peer = link.result?.peer
    if (!peer) return
    const { guard, limits, counter } = this.deps
    const p = this.deps.peers.of(peer)
    // number the unit on this link; a retransmission of what was already received is skipped
    const d = p.delivery
    if (link.cursor === undefined) {
      link.channel.close('DELIVERY_GAP', 'a unit before the resume record')
      return
    }
    // throttle a peer over its rates; cut it off when it stays over them. A batch is one unit
    // (one signature check), charged for what its envelopes hold until processed: ~0.5 KiB of
    // objects each, and a compact item grows by up to 207 bytes when rebuilt
    const charge = guard.charge(
      peer,
      isBatchUnit(bytes) ? bytes.length + messagesIn(bytes) * BATCH_ITEM_CHARGE : bytes.length,
    )
    if (charge.verdict === 'ban') {
      this.deps.cutOff(peer, charge.reason)
      return
    }
    if (charge.verdict === 'throttle') {
      counter.throttled++
      const wait = charge.waitMs
      p.chain = p.chain.then(() => new Promise<void>((r) => setTimeout(r, wait)))
    }
    // what waits to be processed is bounded: an honest sender never has more in flight than its
    // retransmit buffer. Checked before the unit is numbered, so that it goes again after the ban
    // (or on the next link)
    const waiting = p.unprocessed
    const budget = this.deps.unprocessed
    const over =
      waiting.units + 1 > limits.maxUnprocessedPerPeer
        ? `maxUnprocessedPerPeer (${limits.maxUnprocessedPerPeer})`
        : budget.over(peer, bytes.length)
    if (over !== undefined && over !== 'total') {
      const what =
        over === 'sender' ? `maxUnprocessedBytesPerPeer (${limits.maxUnprocessedBytesPerPeer})` : over
      this.deps.cutOff(
        peer,
        `${waiting.units} units (${waiting.bytes} bytes) received and not yet processed, and one more of ${bytes.length} bytes: over ${what}`,
      )
      return
    }
    if (over === 'total') {
      // all peers' waiting units fill the shared budget: no fault of this one. Its unit is not
      // numbered, so not acknowledged: it comes again on the next link
      link.channel.close(
        'MEMORY_BUDGET_FULL',
        `${budget.bytes} bytes received from all peers wait to be processed, and one more unit of ${bytes.length}: over maxUnprocessedBytesTotal (${limits.maxUnprocessedBytesTotal})`,
      )
      return
    }
    const seq = link.cursor++
    try {
      if (d.receive(seq) === 'duplicate') {
        counter.duplicates++
        this.deps.streams.scheduleAck(p) // the sender did not see the ack that covers it
        return
      }
    } catch (e) {
      link.channel.close(errorCode(e) ?? 'DELIVERY_GAP', e instanceof Error ? e.message : String(e))
      return
    }
    const size = bytes.length
    waiting.units++
    waiting.bytes += size
    budget.charge(peer, size)
    if (isBatchUnit(bytes)) this.batch(link, p, bytes, seq)
    else this.single(link, p, bytes, seq)
    // acknowledged once processed (accepted or refused: a refused unit is not worth resending)
    p.chain = p.chain.then(() => {
      waiting.units--
      waiting.bytes -= size
      budget.release(peer, size)
      this.deps.streams.processed(p, seq, size)
    })
  }

  /** Decode a unit from `peer`, or refuse it with the decoder's code. */
  private decode<T>(peer: PartyId, decode: () => T): T | undefined {
    try {
      return decode()
    } catch (e) {
      this.deps.refuse(
        errorCode(e) ?? 'DECODE_SHORT_INPUT',
        peer,
        undefined,
        e instanceof Error ? e.message : String(e),
      )
      return undefined
    }
  }

  /** One envelope: decode, sender, participant, signature (started now), then admission in order. */
  private single(link: HostLink, p: HostPeer, bytes: Uint8Array, deliverySeq: bigint): void {
    const { refuse } = this.deps
    const peer = p.id
    const unit = this.decode(peer, () => decodeUnit(bytes, this.deps.limits.maxMessageBytes))
    if (!unit) return
    const sid = sessionIdFromBytes(unit.sessionId)
    if (!equalBytes(unit.from, link.result!.peerKey)) {
      refuse(
        'ENVELOPE_WRONG_SENDER',
        peer,
        sid,
        `envelope from ${toHex(unit.from).slice(0, 16)}… arrived over ${peer.slice(0, 16)}…'s link`,
      )
      return
    }
    const session = this.deps.session(sid)
    if (session && !session.participants.has(peer)) {
      refuse('ENVELOPE_NOT_PARTICIPANT', peer, sid, 'sender is not a participant of the session')
      return
    }
    // Verification starts now (several can be in flight); delivery stays in arrival order.
    const verified = verifyNow(
      this.deps.crypto,
      unit.from,
      envelopeSignedBytes(unit.payload, unit.recipient, unit.timestamp),
      unit.signature,
    )
    const offset = link.result!.clockOffsetMs
    p.chain = p.chain
      .then(() => verified)
      .then((ok) => {
        if (!ok) {
          refuse('ENVELOPE_BAD_SIGNATURE', peer, sid, 'envelope signature does not verify')
          return
        }
        return this.deps.accept({ unit, peer, clockOffsetMs: offset, deliverySeq })
      })
      .catch((e: unknown) => refuse(errorCode(e) ?? 'ENVELOPE_BAD_SIGNATURE', peer, sid, String(e)))
  }

  /**
   * A batch: decode, every envelope from the link's peer, one strict signature over the
   * digests, then each envelope through admission, in order. Only the last one carries the
   * batch's delivery number to the journal, so a restart in the middle has the whole batch sent
   * again (what was accepted of it is then a replay, skipped as a duplicate).
   */
  private batch(link: HostLink, p: HostPeer, bytes: Uint8Array, deliverySeq: bigint): void {
    const { refuse, crypto } = this.deps
    const peer = p.id
    const batch = this.decode(peer, () => decodeBatch(bytes, this.deps.limits.maxMessageBytes))
    if (!batch) return
    this.deps.counter.of(link.info.kind).messagesReceived += batch.units.length
    const peerKey = link.result!.peerKey
    for (const unit of batch.units) {
      if (!equalBytes(unit.from, peerKey)) {
        refuse(
          'ENVELOPE_WRONG_SENDER',
          peer,
          sessionIdFromBytes(unit.sessionId),
          `batched envelope from ${toHex(unit.from).slice(0, 16)}… arrived over ${peer.slice(0, 16)}…'s link`,
        )
        return
      }
    }
    const digests = batchDigests(crypto, batch.items)
    const verified = verifyBatch(crypto, peerKey, digests, batch.signature)
    const offset = link.result!.clockOffsetMs
    const last = batch.units.length - 1
    const resent = p.delivery.resumedAt === deliverySeq
    const acceptAll = async (ok: boolean): Promise<void> => {
      const first = sessionIdFromBytes(batch.units[0]!.sessionId)
      if (!ok) {
        refuse('ENVELOPE_BAD_SIGNATURE', peer, first, 'batch signature does not verify')
        return
      }
      let prev: EnvelopeUnit | undefined
      let prevKeys: UnitKeys | undefined
      for (const [i, unit] of batch.units.entries()) {
        const keys = unitKeysLike(unit, prev, prevKeys)
        prev = unit
        prevKeys = keys
        const sid = keys.sid
        const session = this.deps.session(sid)
        if (session && !session.participants.has(peer)) {
          refuse('ENVELOPE_NOT_PARTICIPANT', peer, sid, 'sender is not a participant of the session')
          continue
        }
        try {
          const wait = this.deps.accept({
            unit,
            peer,
            clockOffsetMs: offset,
            deliverySeq: i === last ? deliverySeq : undefined,
            keys,
            resent,
          })
          if (wait) await wait
        } catch (e) {
          refuse(errorCode(e) ?? 'ENVELOPE_BAD_SIGNATURE', peer, sid, String(e))
        }
      }
    }
    p.chain = p.chain
      .then(() => verified)
      .then(acceptAll, (e: unknown) => {
        refuse(errorCode(e) ?? 'ENVELOPE_BAD_SIGNATURE', peer, undefined, String(e))
      })
  }
}
