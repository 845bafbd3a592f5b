/**
 * Consistent broadcast (DESIGN "Sessions and inboxes"): the echo step of
 * `collect(round, { broadcast: true, consistent: true })`. Every participant broadcasts the
 * signed units of the round it got (in sorted participant order, its own included) and checks
 * the others' echoes: two validly signed units from one sender with different bodies abort the
 * session with `EQUIVOCATION` and the evidence when they sit at one position of its broadcast
 * stream, else with `SESSION_ABORTED` naming it (it sent the round two different first
 * broadcasts, which proves nothing to anyone else); a garbled echo aborts it naming the echoer.
 * Peers' units come from the session's inbox, which keeps them within the kept-broadcast byte
 * budget: a unit it could not keep aborts the session (`SESSION_ABORTED`, `details.code`
 * `MEMORY_BUDGET_FULL`), naming the peer but not as a culprit (no provable fault).
 * @module
 */
import { equalBytes } from '../bytes.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import { BROADCAST_RECIPIENT, type PartyId } from '../ids.ts'
import { decodeUnit, type EnvelopeUnit, envelopeSignedBytes } from '../wire/envelope.ts'
import {
  decodeEcho,
  echoKind,
  encodeEcho,
  equivocationError,
  equivocationEvidence,
  sameStreamPosition,
} from './evidence.ts'
import type { SessionState } from './session-state.ts'
import type { ReceiveOptions } from './types.ts'

/** What the echo step needs of the host. */
export interface EchoDeps {
  crypto: CryptoBackend
  maxMessageBytes: number
  broadcast(s: SessionState, round: number, body: Uint8Array, kind: string): Promise<void>
  receive(s: SessionState, from: PartyId, round: number, options: ReceiveOptions): Promise<Uint8Array>
  abortWith(s: SessionState, err: ConclaveError, silent: PartyId[]): Promise<void>
}

/**
 * The echo step of `s`'s `round` for broadcasts of `kind`.
 * @throws ConclaveError `EQUIVOCATION` (with the evidence), `SESSION_ABORTED` for a bad echo or
 *   a peer's unit not kept (`details.code` `MEMORY_BUDGET_FULL`), `INVALID_ARGUMENT` when this
 *   party has not broadcast in the round
 */
export async function echo(
  deps: EchoDeps,
  s: SessionState,
  round: number,
  kind: string,
  options: ReceiveOptions,
): Promise<void> {
  const order = [...s.participants].sort()
  const slot = (p: PartyId): string => `${p}|${round}|${kind}`
  if (!s.broadcastUnits.has(slot(s.self))) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `consistent collect of round ${round}: this party has not broadcast in it`,
    )
  }
  const units = order.map((p) => (p === s.self ? s.broadcastUnits.get(slot(p)) : s.inbox.kept(slot(p))))
  const missing = order.find((_, i) => units[i] === undefined)
  if (missing !== undefined) {
    const err = new ConclaveError(
      'SESSION_ABORTED',
      `consistent collect of round ${round}: the signed broadcast of ${missing.slice(0, 16)}… was not kept for the echo step (over the kept-broadcast byte budget, or lost in a restart)`,
      { peer: missing, round, code: 'MEMORY_BUDGET_FULL' },
    )
    await deps.abortWith(s, err, [])
    throw err
  }
  const mine = (units as Uint8Array[]).map((u) => decodeUnit(u, deps.maxMessageBytes))
  await deps.broadcast(s, round, encodeEcho(units as Uint8Array[]), echoKind(kind))
  /** A participant's echo is garbage: abort, naming it (its echo is signed by it). */
  const badEcho = async (q: PartyId, why: string): Promise<never> => {
    const err = new ConclaveError('SESSION_ABORTED', `bad echo from ${q.slice(0, 16)}…: ${why}`, {
      culprit: q,
    })
    await deps.abortWith(s, err, [])
    throw err
  }
  const check = async (q: PartyId, body: Uint8Array): Promise<void> => {
    let echoed: Uint8Array[]
    try {
      echoed = decodeEcho(body)
    } catch {
      echoed = []
    }
    if (echoed.length !== order.length) return badEcho(q, 'malformed echo')
    for (const [i, bytes] of echoed.entries()) {
      const ours = mine[i]!
      let theirs: EnvelopeUnit
      try {
        theirs = decodeUnit(bytes, deps.maxMessageBytes)
      } catch {
        return badEcho(q, 'undecodable unit in echo')
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
        (await deps.crypto.ed25519.verify(
          theirs.from,
          envelopeSignedBytes(theirs.payload, theirs.recipient, theirs.timestamp),
          theirs.signature,
        ))
      if (!signed) return badEcho(q, 'echo holds a unit its sender did not sign')
      const culprit = order[i]!
      const err = sameStreamPosition(ours, theirs)
        ? equivocationError(equivocationEvidence(ours, theirs, s.proposal))
        : new ConclaveError(
            'SESSION_ABORTED',
            `${culprit.slice(0, 16)}… broadcast different values in round ${round} (at two stream positions: no evidence)`,
            { culprit, round },
          )
      await deps.abortWith(s, err, [])
      throw err
    }
  }
  await Promise.all(
    s.others.map((q) =>
      deps
        .receive(s, q, round, { ...options, kind: echoKind(kind), broadcast: true, consistent: false })
        .then((body) => check(q, body)),
    ),
  )
  if (s.failure) throw s.failure
}
