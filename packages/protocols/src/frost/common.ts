/**
 * What the FROST DKG and signing share: the ciphersuite, participant identifiers, point checks,
 * and how a run that fails aborts its session.
 * @module
 */
import { ConclaveError, type PartyId, type Session, type SessionId } from '@conclave/core'
import { equalBytes } from '@conclave/core/wire'
import { ed25519, ed25519_FROST } from '@noble/curves/ed25519.js'
import { isProtocolError, ProtocolError, type ProtocolErrorDetails } from '../errors.ts'

/** The RFC 9591 ciphersuite: FROST(Ed25519, SHA-512). */
export const FROST_SUITE = 'FROST-ED25519-SHA512-v1'

/** noble's FROST(Ed25519, SHA-512): every cryptographic step of the protocol is one of its calls. */
export const frost = ed25519_FROST

/** Prefix of the string each participant identifier is derived from. */
const IDENTIFIER_TAG = 'conclave/frost/v1/identifier'

/**
 * The FROST identifier (canonical scalar hex) of participant `index` (1-based, in sorted PartyId
 * order) of the DKG session `sessionId`: noble's `Identifier.derive` over the session id, the
 * index and the PartyId. Binding the session id makes every proof of knowledge (whose challenge
 * hashes the identifier) specific to this DKG, so no round-1 package can be replayed into another.
 */
export function frostIdentifier(sessionId: SessionId, index: number, party: PartyId): string {
  return frost.Identifier.derive(`${IDENTIFIER_TAG}\u0000${sessionId}\u0000${index}\u0000${party}`)
}

/**
 * True when `bytes` is an element FROST accepts (RFC 9591 §3.1 DeserializeElement): the
 * canonical encoding of a curve point that is not the identity and lies in the prime-order
 * subgroup. noble's FROST checks the same, but inside calls that cover every participant at once;
 * checking each participant's points first is what lets a failure name its sender.
 */
export function isValidElement(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false
  try {
    const p = ed25519.Point.fromBytes(bytes, false)
    p.assertValidity()
    return !p.is0() && p.isTorsionFree() && equalBytes(p.toBytes(), bytes)
  } catch {
    return false
  }
}

/** A PartyId shortened for messages. */
export function short(p: PartyId): string {
  return `${p.slice(0, 16)}…`
}

/** Build a {@link ProtocolError}. */
export function protocolError(
  code: ProtocolError['code'],
  message: string,
  details: ProtocolErrorDetails,
  cause?: unknown,
): ProtocolError {
  return new ProtocolError(code, message, details, cause === undefined ? undefined : { cause })
}

/** Throw `ConclaveError('ABORTED')` when `signal` has fired. */
export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ConclaveError('ABORTED', 'FROST run aborted by its signal')
}

/**
 * The reason a failed run gives in its signed abort: the error's code first, so that the other
 * participants (who see it as `SESSION_ABORTED` with `details.reason`) can tell what happened.
 * Public data only: errors here never carry secrets.
 */
export function abortReason(e: unknown): string {
  if (isProtocolError(e)) {
    const culprit = e.details.culprit === undefined ? '' : ` culprit=${e.details.culprit}`
    const round = e.details.round === undefined ? '' : ` round=${e.details.round}`
    return `${e.code}${culprit}${round}: ${e.message}`
  }
  if (e instanceof ConclaveError) return `${e.code}: ${e.message}`
  return 'internal error'
}

/**
 * Abort `session` for everyone because this run failed with `e` (a no-op when the session is
 * already over, e.g. when `e` is the abort of another party or a round timeout).
 */
export async function abortOnFailure(session: Session, e: unknown): Promise<void> {
  if (e instanceof ConclaveError && (e.code === 'SESSION_ABORTED' || e.code === 'SESSION_CLOSED')) return
  try {
    await session.abort(abortReason(e))
  } catch {
    // the session is gone already; the caller still gets `e`
  }
}

/**
 * Compare the echo list `theirs`, received from `from`, with ours.
 * @throws ProtocolError `FROST_BROADCAST_MISMATCH` (details.reportedBy, details.about: whose
 *   broadcast was seen differently; details.culprit when that is `from` itself, whose two signed
 *   messages then contradict each other)
 */
export function checkEcho(
  mine: readonly Uint8Array[],
  theirs: readonly Uint8Array[],
  participants: readonly PartyId[],
  from: PartyId,
  round: number,
  what: string,
): void {
  if (theirs.length !== mine.length) {
    throw protocolError(
      'FROST_BROADCAST_MISMATCH',
      `${what}: ${short(from)} reports the broadcasts of ${theirs.length} participants, this party saw ${mine.length}`,
      { round, reportedBy: from, culprit: from },
    )
  }
  for (let i = 0; i < mine.length; i++) {
    if (equalBytes(mine[i]!, theirs[i]!)) continue
    const about = participants[i]!
    throw protocolError(
      'FROST_BROADCAST_MISMATCH',
      `${what}: ${short(from)} saw another broadcast from ${short(about)} than this party did`,
      { round, reportedBy: from, about, ...(about === from ? { culprit: from } : {}) },
    )
  }
}

/** Decode a body from `from`, or blame `from` with `FROST_BAD_MESSAGE`. */
export function decodeOr<T>(body: Uint8Array, decode: (b: Uint8Array) => T, from: PartyId, round: number): T {
  try {
    return decode(body)
  } catch (cause) {
    throw protocolError(
      'FROST_BAD_MESSAGE',
      `frost: the round-${round} message from ${short(from)} does not decode`,
      { culprit: from, round, ...(cause instanceof ConclaveError ? { decodeCode: cause.code } : {}) },
      cause,
    )
  }
}

/** `session.collect` of one FROST round message. */
export function collect(
  session: Session,
  round: number,
  kind: string,
  broadcast: boolean,
  signal: AbortSignal | undefined,
): Promise<Map<PartyId, Uint8Array>> {
  return session.collect(round, { kind, broadcast, ...(signal ? { signal } : {}) })
}
