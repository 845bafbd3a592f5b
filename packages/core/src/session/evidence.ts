/**
 * Consistent broadcast (DESIGN "Sessions and inboxes"): after collecting a round's broadcasts,
 * every participant echoes the signed units it received; two validly signed broadcasts with
 * different bodies at one position of the sender's broadcast stream (sid, from, epoch, seq: a
 * slot an honest sender fills once, as its sequence numbers only go up) are evidence of
 * equivocation that anyone can check with the sender's public key. Two broadcasts of one
 * (round, kind) at two positions are not: an honest sender may broadcast many times in one
 * round and kind (a chat).
 *
 * ```
 * echo body = u16 n ‖ n × bytes32len unit      (the signed broadcast units of the round, one per
 *                                               participant, this party's own included)
 * ```
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { equalBytes, fromHex, Reader, toHex, Writer } from '../bytes.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import {
  BROADCAST_RECIPIENT,
  type PartyId,
  partyIdFromBytes,
  type SessionId,
  sessionIdFromBytes,
} from '../ids.ts'
import { decodeUnit, type EnvelopeUnit, envelopeSignedBytes } from '../wire/envelope.ts'
import { kindBytes, MAX_KIND_BYTES } from '../wire/envelope-core.ts'

/** Bytes of the readable echo kind's prefix `echo:`. */
const ECHO_PREFIX = 'echo:'

/**
 * The kind under which the echo of broadcasts of `kind` travels, one per kind and never over
 * the 64-byte kind limit: `echo:<kind>` when that fits, else `echo#` and the hex of the first
 * 29 bytes of SHA-256(UTF-8 kind) (63 bytes). The two forms never meet (`:` against `#`).
 */
export function echoKind(kind: string): string {
  const k = kindBytes(kind)
  if (ECHO_PREFIX.length + k.length <= MAX_KIND_BYTES) return `${ECHO_PREFIX}${kind}`
  return `echo#${toHex(sha256(k).subarray(0, 29))}`
}

/** Whether `a` and `b` sit at one position of one broadcast stream (session, sender, epoch, seq). */
export function sameStreamPosition(a: EnvelopeUnit, b: EnvelopeUnit): boolean {
  return (
    equalBytes(a.sessionId, b.sessionId) &&
    equalBytes(a.from, b.from) &&
    equalBytes(a.epoch, b.epoch) &&
    a.seq === b.seq &&
    equalBytes(a.recipient, BROADCAST_RECIPIENT) &&
    equalBytes(b.recipient, BROADCAST_RECIPIENT)
  )
}

/** Encode an echo of signed units. */
export function encodeEcho(units: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(16 + units.reduce((n, u) => n + u.length + 4, 0)).u16(units.length)
  for (const u of units) w.bytes32len(u)
  return w.finish()
}

/**
 * Decode an echo.
 * @throws ConclaveError `DECODE_*`
 */
export function decodeEcho(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body)
  const n = r.u16('echo count')
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) out.push(r.bytes32len('echoed unit').slice())
  r.end('echo')
  return out
}

/**
 * Evidence that `culprit` signed two different broadcasts of one (sid, round, kind) at one
 * position of its broadcast stream (same epoch and seq).
 */
export interface EquivocationEvidence {
  version: 1
  type: 'equivocation'
  sessionId: SessionId
  culprit: PartyId
  round: number
  kind: string
  /** The two signed units, hex (payload ‖ recipient ‖ timestamp ‖ signature). */
  units: [string, string]
  /** The session id's preimage (the proposal), hex, when the session came from a proposal. */
  sidPreimage?: string
}

/**
 * Check equivocation evidence with nothing but the culprit's public key (its PartyId): both
 * units decode, are strictly signed by the culprit in the envelope context, name the same
 * session, round and kind, are broadcasts at one position of the culprit's broadcast stream
 * (same epoch and seq), and carry different bodies.
 */
export async function verifyEquivocationEvidence(
  crypto: CryptoBackend,
  e: EquivocationEvidence,
): Promise<boolean> {
  try {
    if (e.version !== 1 || e.type !== 'equivocation' || e.units.length !== 2) return false
    const [a, b] = e.units.map((u) => decodeUnit(fromHex(u))) as [EnvelopeUnit, EnvelopeUnit]
    for (const u of [a, b]) {
      if (partyIdFromBytes(u.from) !== e.culprit) return false
      if (sessionIdFromBytes(u.sessionId) !== e.sessionId || u.round !== e.round || u.kind !== e.kind)
        return false
      if (!equalBytes(u.recipient, BROADCAST_RECIPIENT)) return false
      const ok = await crypto.ed25519.verify(
        u.from,
        envelopeSignedBytes(u.payload, u.recipient, u.timestamp),
        u.signature,
      )
      if (!ok) return false
    }
    return sameStreamPosition(a, b) && !equalBytes(a.body, b.body)
  } catch {
    return false
  }
}

/** Build evidence from two conflicting units. */
export function equivocationEvidence(
  mine: EnvelopeUnit,
  theirs: EnvelopeUnit,
  sidPreimage: Uint8Array | undefined,
): EquivocationEvidence {
  return {
    version: 1,
    type: 'equivocation',
    sessionId: sessionIdFromBytes(mine.sessionId),
    culprit: partyIdFromBytes(mine.from),
    round: mine.round,
    kind: mine.kind,
    units: [toHex(mine.bytes), toHex(theirs.bytes)],
    ...(sidPreimage ? { sidPreimage: toHex(sidPreimage) } : {}),
  }
}

/** @throws ConclaveError `EQUIVOCATION` carrying the evidence */
export function equivocationError(e: EquivocationEvidence): ConclaveError {
  return new ConclaveError(
    'EQUIVOCATION',
    `${e.culprit.slice(0, 16)}… broadcast different values in round ${e.round}`,
    {
      culprit: e.culprit,
      round: e.round,
      evidence: e,
    },
  )
}
