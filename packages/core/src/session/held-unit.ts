/**
 * A received envelope on its way through admission, and the string keys admission needs of it
 * (session, replay stream, freshness stream). Also the memory rule for what the host keeps of a
 * received envelope: a view into a much larger buffer (a batch, a 64 KiB frame) is copied out.
 * @module
 */
import { equalBytes, toHex } from '../bytes.ts'
import { type PartyId, type SessionId, sessionIdFromBytes } from '../ids.ts'
import { type EnvelopeUnit, isBatchUnit } from '../wire/envelope.ts'
import { SessionState } from './session-state.ts'

/** A verified envelope waiting for (or going through) admission. */
export interface Held {
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
  /**
   * When it first reached admission (this party's clock, ms), once it was held (for its session
   * to open, or for inbox room): its freshness is judged at arrival, not when it is taken.
   */
  arrivedAt?: number | undefined
}

/** The string keys admission needs of a unit. */
export interface UnitKeys {
  sid: SessionId
  /** Replay stream `(from, to, epoch)`. */
  stream: string
  /** Freshness stream `(from, epoch)`. */
  fresh: string
}

/** The keys of `unit`. */
export function unitKeys(unit: EnvelopeUnit): UnitKeys {
  return {
    sid: sessionIdFromBytes(unit.sessionId),
    stream: SessionState.stream(unit.from, unit.recipient, unit.epoch),
    fresh: `${toHex(unit.from)}|${toHex(unit.epoch)}`,
  }
}

/** The keys of `unit`, reusing `prev`'s when both name the same session, sender, recipient and epoch. */
export function unitKeysLike(
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

/** Bytes a batch (either form) is charged per item beside its own size (see the receive path). */
export const BATCH_ITEM_CHARGE = 720

/** Envelopes in a unit: a batch's count, or 1. */
export function messagesIn(unit: Uint8Array): number {
  return isBatchUnit(unit) && unit.length >= 3 ? (unit[1]! << 8) | unit[2]! : 1
}

/**
 * Whether `v` is a view into a buffer much larger than itself, which holding `v` would keep
 * alive: what is kept then pins at most twice its size plus 1 KiB (a reassembled 64 KiB unit is
 * kept as it is; a 256 B body in a 64 KiB frame or a 1 MiB batch is copied out).
 */
export function pinsMore(v: Uint8Array): boolean {
  return v.buffer.byteLength > 2 * v.byteLength + 1024
}

/**
 * An envelope copied out of the batch or frame it is a view into: its own bytes once, the fields
 * as views into that copy, so holding it does not keep the rest alive.
 */
export function detached(unit: EnvelopeUnit): EnvelopeUnit {
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
