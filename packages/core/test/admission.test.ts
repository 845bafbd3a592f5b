/**
 * Admission (session/admission.ts): DESIGN's checks after the signature, one verdict per rule,
 * in order. No links, no crypto: units are built field by field.
 */
import { describe, expect, it } from 'vitest'
import {
  BROADCAST_RECIPIENT,
  type PartyId,
  partyIdToBytes,
  type SessionId,
  sessionIdToBytes,
} from '../src/ids.ts'
import { type AdmissionContext, admit } from '../src/session/admission.ts'
import { type Held, unitKeys } from '../src/session/held-unit.ts'
import { resolveLimits } from '../src/session/limits.ts'
import { SessionState } from '../src/session/session-state.ts'
import type { EnvelopeUnit } from '../src/wire/envelope.ts'

const ME = 'aa'.repeat(32) as PartyId
const PEER = 'bb'.repeat(32) as PartyId
const OTHER = 'cc'.repeat(32) as PartyId
const SID = '11'.repeat(32) as SessionId
const NOW = 1_700_000_000_000
const limits = resolveLimits({ inboxPerSender: 2 })

function unit(over: Partial<EnvelopeUnit> = {}): EnvelopeUnit {
  const empty = new Uint8Array(0)
  return {
    version: 1,
    sessionId: sessionIdToBytes(SID),
    round: 1,
    kind: 'msg',
    from: partyIdToBytes(PEER),
    epoch: new Uint8Array(16).fill(7),
    seq: 0n,
    body: new Uint8Array([1, 2, 3]),
    payload: empty,
    recipient: partyIdToBytes(ME),
    timestamp: BigInt(NOW),
    signature: empty,
    bytes: empty,
    ...over,
  }
}

function session(participants: PartyId[] = [ME, PEER]): SessionState {
  return new SessionState({ id: SID, participants }, ME, limits, NOW)
}

function verdict(u: EnvelopeUnit, ctx: Partial<AdmissionContext> = {}, held: Partial<Held> = {}) {
  const h: Held = { unit: u, peer: PEER, clockOffsetMs: 0, ...held }
  return admit(h, unitKeys(u), {
    session: undefined,
    ended: false,
    selfBytes: partyIdToBytes(ME),
    now: () => NOW,
    skewMs: limits.skewMs,
    ...ctx,
  })
}

describe('admission', () => {
  it('delivers a fresh direct envelope, and a broadcast, of an open session', () => {
    expect(verdict(unit(), { session: session() })).toEqual({ verdict: 'deliver', broadcast: false })
    expect(verdict(unit({ recipient: BROADCAST_RECIPIENT }), { session: session() })).toEqual({
      verdict: 'deliver',
      broadcast: true,
    })
  })

  it('a proposal of a session not opened here is control; anything else of it is held', () => {
    expect(verdict(unit({ round: 0, kind: 'proposal' }))).toMatchObject({
      verdict: 'control',
      kind: 'proposal',
    })
    expect(verdict(unit())).toEqual({ verdict: 'hold', until: 'session' })
  })

  it('drops a unit of a session that is over as late, without blame (SESSION_CLOSED)', () => {
    expect(verdict(unit(), { ended: true })).toMatchObject({ verdict: 'late', code: 'SESSION_CLOSED' })
  })

  it('refuses a sender that is not a participant (ENVELOPE_NOT_PARTICIPANT)', () => {
    expect(verdict(unit(), { session: session([ME, OTHER]) })).toMatchObject({
      verdict: 'refuse',
      code: 'ENVELOPE_NOT_PARTICIPANT',
    })
  })

  it('refuses an envelope for another party (ENVELOPE_WRONG_RECIPIENT)', () => {
    const s = session([ME, PEER, OTHER])
    expect(verdict(unit({ recipient: partyIdToBytes(OTHER) }), { session: s })).toMatchObject({
      verdict: 'refuse',
      code: 'ENVELOPE_WRONG_RECIPIENT',
    })
  })

  it('checks freshness at a stream’s first unit only (ENVELOPE_STALE)', () => {
    const old = unit({ timestamp: BigInt(NOW - limits.skewMs - 1) })
    const s = session()
    expect(verdict(old, { session: s })).toMatchObject({ verdict: 'refuse', code: 'ENVELOPE_STALE' })
    // the clock offset measured at the handshake corrects the sender's clock
    expect(verdict(old, { session: s }, { clockOffsetMs: -limits.skewMs })).toMatchObject({
      verdict: 'deliver',
    })
    s.freshStreams.add(unitKeys(old).fresh)
    expect(verdict(old, { session: s })).toMatchObject({ verdict: 'deliver' })
  })

  it('refuses a replay, and skips one resent from the batch taken at a restart', () => {
    const u = unit({ seq: 5n })
    const s = session()
    s.replay.add(unitKeys(u).stream, 5n)
    expect(verdict(u, { session: s })).toMatchObject({ verdict: 'refuse', code: 'ENVELOPE_REPLAY' })
    expect(verdict(u, { session: s }, { resent: true })).toEqual({ verdict: 'skip' })
  })

  it('round 0 is control: ack, start, the proposal of a joined session, a broadcast abort', () => {
    const s = session()
    const b = BROADCAST_RECIPIENT
    expect(verdict(unit({ round: 0, kind: 'ack' }), { session: s })).toEqual({
      verdict: 'control',
      kind: 'ack',
      broadcast: false,
    })
    expect(verdict(unit({ round: 0, kind: 'start', recipient: b }), { session: s })).toEqual({
      verdict: 'control',
      kind: 'start',
      broadcast: true,
    })
    expect(verdict(unit({ round: 0, kind: 'proposal', recipient: b }), { session: s })).toMatchObject({
      verdict: 'control',
      kind: 'joined-proposal',
    })
    expect(verdict(unit({ round: 0, kind: 'abort', recipient: b }), { session: s })).toMatchObject({
      verdict: 'control',
      kind: 'abort',
    })
  })

  it('refuses anything else in round 0 (ROUND_RESERVED), a direct abort included', () => {
    const s = session()
    expect(verdict(unit({ round: 0, kind: 'msg' }), { session: s })).toMatchObject({ code: 'ROUND_RESERVED' })
    expect(verdict(unit({ round: 0, kind: 'abort' }), { session: s })).toMatchObject({
      code: 'ROUND_RESERVED',
    })
  })

  it('drops a message of a session no longer open as late (SESSION_CLOSED), but still takes its control', () => {
    const s = session()
    s.status = 'aborted'
    expect(verdict(unit(), { session: s })).toMatchObject({ verdict: 'late', code: 'SESSION_CLOSED' })
    expect(verdict(unit({ round: 0, kind: 'ack' }), { session: s })).toMatchObject({ verdict: 'control' })
  })

  it('refuses a round too far ahead (FUTURE_ROUND)', () => {
    const s = session()
    expect(verdict(unit({ round: 1 + limits.futureRoundWindow + 1 }), { session: s })).toMatchObject({
      verdict: 'refuse',
      code: 'FUTURE_ROUND',
    })
    expect(verdict(unit({ round: 1 + limits.futureRoundWindow }), { session: s })).toMatchObject({
      verdict: 'deliver',
    })
  })

  it('holds a unit until the sender’s inbox has room', () => {
    const s = session()
    for (let i = 0; i < limits.inboxPerSender; i++)
      s.inbox.put({ from: PEER, round: 1, kind: 'msg', broadcast: false }, new Uint8Array(1))
    expect(verdict(unit(), { session: s })).toEqual({ verdict: 'hold', until: 'room' })
  })

  it('checks in DESIGN’s order: the first failing rule names the refusal', () => {
    // not a participant, for another party, stale, and a replay all at once: participant first
    const s = session([ME, OTHER, 'dd'.repeat(32) as PartyId])
    const u = unit({ recipient: partyIdToBytes(OTHER), timestamp: 0n })
    s.replay.add(unitKeys(u).stream, 0n)
    expect(verdict(u, { session: s })).toMatchObject({ code: 'ENVELOPE_NOT_PARTICIPANT' })
    const s2 = session([ME, PEER, OTHER])
    s2.replay.add(unitKeys(u).stream, 0n)
    expect(verdict(u, { session: s2 })).toMatchObject({ code: 'ENVELOPE_WRONG_RECIPIENT' })
    const mine = unit({ timestamp: 0n })
    s2.replay.add(unitKeys(mine).stream, 0n)
    expect(verdict(mine, { session: s2 })).toMatchObject({ code: 'ENVELOPE_STALE' })
  })
})
