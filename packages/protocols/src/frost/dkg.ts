/**
 * FROST distributed key generation (Pedersen DKG with proofs of knowledge, as in frost-rs and
 * noble's `DKG.round1/2/3`) over a Conclave session.
 *
 * 1. **commit** (broadcast): each party's VSS commitment to a random polynomial of degree t − 1
 *    and a proof of knowledge of its constant term.
 * 2. **share** (direct, over the recipient's encrypted link): the polynomial evaluated at the
 *    recipient's identifier. Each recipient checks every share against its sender's commitment;
 *    a share that fails names its sender, who signed both.
 * 3. **confirm** (broadcast): the group key computed and the digests of the round-1 broadcasts
 *    seen. Everyone must agree, which shows that no one was given a different commitment (the
 *    session layer does not echo broadcasts itself) and that everyone accepted its shares.
 * @module
 */
import { ConclaveError, type PartyId, type Session, toHex } from '@conclave/core'
import { equalBytes } from '@conclave/core/wire'
import type { DKG_Round1, DKG_Round2, DKG_Secret } from '@noble/curves/abstract/frost.js'
import {
  type DkgCommitMessage,
  decodeDkgCommit,
  decodeDkgConfirm,
  decodeDkgShare,
  echoList,
  encodeDkgCommit,
  encodeDkgConfirm,
  encodeDkgShare,
  FROST_KIND,
} from './codec.ts'
import {
  abortOnFailure,
  checkEcho,
  checkSignal,
  collect,
  decodeOr,
  FROST_SUITE,
  frost,
  frostIdentifier,
  protocolError,
  short,
} from './common.ts'
import { type FrostKeyShare, SecretBytes } from './key-share.ts'

/** The DKG's protocol name (session mode / proposal tag). */
export const FROST_DKG = 'frost-dkg'

/** Options of {@link runFrostDkg}. */
export interface FrostDkgOptions {
  /** Minimum number of signers, from 2 to the number of participants. */
  threshold: number
  /** Cancels the run (it then aborts the session for everyone). */
  signal?: AbortSignal
  /** Round to start at (rounds r, r+1 and r+2 are used). @default 1 */
  firstRound?: number
}

/**
 * Run the FROST(Ed25519, SHA-512) DKG among all of `session.participants`; resolves to this
 * party's key share once every participant has confirmed the same group key.
 *
 * On any failure, bad arguments included, the run aborts the session for everyone (a signed abort
 * whose reason starts with the error code and names the culprit, if any) and rejects.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` (bad threshold), `ABORTED` (signal), or the session's
 *   error (`ROUND_TIMEOUT` with details.silent, `SESSION_ABORTED` with details.by/reason …)
 * @throws ProtocolError `FROST_BAD_SHARE` (details.culprit, round) for a secret share that fails
 *   its sender's commitment; `FROST_BAD_COMMITMENT` (culprit) for an invalid commitment or proof
 *   of knowledge; `FROST_BAD_MESSAGE` (culprit) for a message that does not decode;
 *   `FROST_PARAMS_MISMATCH` (details.party) when a participant runs another threshold;
 *   `FROST_BROADCAST_MISMATCH` (details.about, reportedBy) when participants saw different
 *   round-1 broadcasts
 * @example
 * ```ts
 * const key = await runFrostDkg(party.session({ id, participants }), { threshold: 3 })
 * await writeFile('key.json', encodeKeyShare(key), { mode: 0o600 })
 * ```
 */
export async function runFrostDkg(session: Session, options: FrostDkgOptions): Promise<FrostKeyShare> {
  const participants = session.participants
  const n = participants.length
  const { threshold, signal } = options
  const r1 = options.firstRound ?? 1
  let state: DKG_Secret | undefined
  // the secret shares this function owns, zeroed when it returns (not the received bodies: they
  // are views into the session layer's signed units, which may be kept as evidence)
  const secrets: Uint8Array[] = []
  try {
    if (!Number.isInteger(threshold) || threshold < 2 || threshold > n || n > 0xffff) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `frost-dkg: "threshold" expected an integer from 2 to ${n} (the number of participants), got ${String(threshold)}`,
      )
    }
    if (!Number.isInteger(r1) || r1 < 1 || r1 > 0xffffffff - 2) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `frost-dkg: "firstRound" expected an integer ≥ 1, got ${r1}`,
      )
    }
    checkSignal(signal)
    const signers = { min: threshold, max: n }
    const ids = new Map<PartyId, string>(
      participants.map((p, i) => [p, frostIdentifier(session.id, i + 1, p)]),
    )
    const idOf = (p: PartyId): string => ids.get(p)!
    const others = session.others

    // ── round 1: commitments and proofs of knowledge (broadcast) ───────────────────────────
    const mine = frost.DKG.round1(idOf(session.self), signers)
    state = mine.secret
    const myCommit = encodeDkgCommit({
      threshold,
      n,
      commitment: mine.public.commitment,
      proofOfKnowledge: mine.public.proofOfKnowledge,
    })
    await session.broadcast(r1, myCommit, { kind: FROST_KIND.dkgCommit })
    const commitBodies = await collect(session, r1, FROST_KIND.dkgCommit, true, signal)
    const packages = new Map<PartyId, DKG_Round1>()
    for (const from of others) {
      const m = decodeOr(commitBodies.get(from)!, decodeDkgCommit, from, r1)
      checkParams(m, threshold, n, from, r1)
      packages.set(from, {
        identifier: idOf(from),
        commitment: m.commitment.map((c) => c.slice()),
        proofOfKnowledge: m.proofOfKnowledge.slice(),
      })
    }
    const round1 = others.map((p) => packages.get(p)!)

    // ── round 2: one secret share per participant (direct, encrypted link) ─────────────────
    let outgoing: Record<string, DKG_Round2>
    try {
      outgoing = frost.DKG.round2(state, round1)
    } catch (cause) {
      throw blameRound1(others, packages, threshold, r1, cause)
    }
    for (const p of Object.values(outgoing)) secrets.push(p.signingShare)
    checkSignal(signal)
    await Promise.all(
      others.map((to) => {
        const body = encodeDkgShare(outgoing[idOf(to)]!.signingShare)
        secrets.push(body)
        return session.send(to, r1 + 1, body, { kind: FROST_KIND.dkgShare })
      }),
    )
    const shareBodies = await collect(session, r1 + 1, FROST_KIND.dkgShare, false, signal)
    const incoming: DKG_Round2[] = []
    for (const from of others) {
      const signingShare = decodeOr(shareBodies.get(from)!, decodeDkgShare, from, r1 + 1)
      try {
        // the share must be the sender's committed polynomial at our identifier (vss_verify)
        frost.validateSecret(
          { identifier: idOf(session.self), signingShare },
          { signers, commitments: packages.get(from)!.commitment, verifyingShares: {} },
        )
      } catch (cause) {
        throw protocolError(
          'FROST_BAD_SHARE',
          `frost-dkg: the secret share from ${short(from)} does not match its commitment`,
          { culprit: from, round: r1 + 1 },
          cause,
        )
      }
      const copy = signingShare.slice()
      secrets.push(copy)
      incoming.push({ identifier: idOf(from), signingShare: copy })
    }
    const key = frost.DKG.round3(state, round1, incoming)

    // ── round 3: confirm the group key and the round-1 broadcasts seen (broadcast) ─────────
    const groupPublicKey = key.public.commitments[0]!
    const echo = echoList(session.id, r1, participants, new Map([...commitBodies, [session.self, myCommit]]))
    await session.broadcast(r1 + 2, encodeDkgConfirm({ groupPublicKey, echo }), {
      kind: FROST_KIND.dkgConfirm,
    })
    const confirms = await collect(session, r1 + 2, FROST_KIND.dkgConfirm, true, signal)
    for (const from of others) {
      const m = decodeOr(confirms.get(from)!, decodeDkgConfirm, from, r1 + 2)
      checkEcho(echo, m.echo, participants, from, r1 + 2, 'frost-dkg')
      if (!equalBytes(m.groupPublicKey, groupPublicKey)) {
        // same broadcasts, different key: the sender computed wrongly (or lies), provably
        throw protocolError(
          'FROST_BAD_MESSAGE',
          `frost-dkg: ${short(from)} confirms another group key from the same broadcasts`,
          { culprit: from, round: r1 + 2 },
        )
      }
    }

    const signingShare = key.secret.signingShare
    try {
      return {
        suite: FROST_SUITE,
        sessionId: session.id,
        threshold,
        groupPublicKey: toHex(groupPublicKey),
        commitments: key.public.commitments.map((c) => toHex(c)),
        participants: [...participants],
        verifyingShares: participants.map((p) => toHex(key.public.verifyingShares[idOf(p)]!)),
        index: participants.indexOf(session.self) + 1,
        secretShare: new SecretBytes(signingShare),
      }
    } finally {
      signingShare.fill(0)
    }
  } catch (e) {
    await abortOnFailure(session, e)
    throw e
  } finally {
    for (const b of secrets) b.fill(0)
    if (state) {
      try {
        frost.DKG.clean(state)
      } catch {
        // already consumed by round 3
      }
    }
  }
}

function checkParams(m: DkgCommitMessage, threshold: number, n: number, from: PartyId, round: number): void {
  if (m.threshold !== threshold || m.n !== n) {
    throw protocolError(
      'FROST_PARAMS_MISMATCH',
      `frost-dkg: ${short(from)} runs ${m.threshold}-of-${m.n}, this party ${threshold}-of-${n}`,
      { party: from, round, threshold: m.threshold, n: m.n },
    )
  }
}

/**
 * noble's `DKG.round2` checks every round-1 package at once. When it refuses them, find whose
 * package fails by running the same check on each alone: a throwaway DKG state of `threshold`
 * probe participants takes that package and `threshold − 2` packages of other probes.
 */
function blameRound1(
  others: readonly PartyId[],
  packages: ReadonlyMap<PartyId, DKG_Round1>,
  threshold: number,
  round: number,
  cause: unknown,
): Error {
  const signers = { min: threshold, max: threshold }
  for (const from of others) {
    const probes = Array.from({ length: threshold - 1 }, (_, i) =>
      frost.DKG.round1(frost.Identifier.derive(`conclave/frost/v1/probe\u0000${i}`), signers),
    )
    try {
      frost.DKG.round2(probes[0]!.secret, [packages.get(from)!, ...probes.slice(1).map((p) => p.public)])
    } catch (e) {
      return protocolError(
        'FROST_BAD_COMMITMENT',
        `frost-dkg: the commitment or proof of knowledge from ${short(from)} is invalid`,
        { culprit: from, round },
        e,
      )
    } finally {
      for (const p of probes) frost.DKG.clean(p.secret)
    }
  }
  return new ConclaveError(
    'INVALID_ARGUMENT',
    'frost-dkg: round 2 refused the round-1 packages',
    {},
    { cause },
  )
}
