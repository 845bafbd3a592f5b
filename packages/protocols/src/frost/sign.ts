/**
 * FROST(Ed25519, SHA-512) signing (RFC 9591) over a Conclave session, without a coordinator:
 * every signer plays the coordinator's part and ends with the same signature.
 *
 * 1. **commit** (broadcast): fresh hiding and binding nonce commitments, with the group key and
 *    the message digest so that signers who disagree on either stop before any share is made.
 * 2. **share** (broadcast): the signature share, with the digests of the round-1 broadcasts the
 *    signer saw. Each party checks those digests (a share is only meaningful for one commitment
 *    list), verifies every share against its sender's verifying share, aggregates, and checks the
 *    result with plain Ed25519.
 *
 * Nonces live only in this function: drawn fresh per run, consumed by `signShare`, zeroed in
 * every case, never sent.
 * @module
 */
import { ConclaveError, fromHex, type PartyId, type Session } from '@conclave/core'
import { strictVerifyNoble } from '@conclave/core/crypto'
import { equalBytes } from '@conclave/core/wire'
import type { NonceCommitments, Nonces } from '@noble/curves/abstract/frost.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  decodeSignCommit,
  decodeSignShare,
  echoList,
  encodeSignCommit,
  encodeSignShare,
  FROST_KIND,
  messageDigest,
} from './codec.ts'
import {
  abortOnFailure,
  checkEcho,
  checkSignal,
  collect,
  decodeOr,
  frost,
  frostIdentifier,
  isValidElement,
  protocolError,
  short,
} from './common.ts'
import { type FrostKeyShare, frostPublic, ownIdentifier, SecretBytes } from './key-share.ts'

/** The signing protocol's name (session mode / proposal tag). */
export const FROST_SIGN = 'frost-sign'

/** Options of {@link runFrostSign}. */
export interface FrostSignOptions {
  /** Cancels the run (it then aborts the session for everyone). */
  signal?: AbortSignal
  /** Round to start at (rounds r and r+1 are used). @default 1 */
  firstRound?: number
}

/**
 * Sign `message` with a FROST key: the signers are exactly `session.participants`, each a DKG
 * participant of `keyShare`, at least `keyShare.threshold` of them. Resolves to the 64-byte
 * Ed25519 signature, which every signer has checked with `ed25519.verify` (strict: no ZIP-215
 * leniency) and with Conclave's strict verifier against the group public key.
 *
 * On any failure the run aborts the session for everyone and rejects.
 *
 * @throws ProtocolError `FROST_NOT_A_SIGNER` (details.party), `FROST_NOT_ENOUGH_SIGNERS`
 *   (details.signers, threshold); `FROST_BAD_SHARE` (details.culprit, round) for a signature
 *   share that fails verification; `FROST_BAD_COMMITMENT` (culprit) for an invalid nonce
 *   commitment; `FROST_BAD_MESSAGE` (culprit); `FROST_PARAMS_MISMATCH` (details.party, what:
 *   `groupPublicKey` | `message`); `FROST_BROADCAST_MISMATCH`; `FROST_SIGNATURE_INVALID`
 * @throws ConclaveError `INVALID_ARGUMENT`, `ABORTED` (signal), or the session's error
 *   (`ROUND_TIMEOUT`, `SESSION_ABORTED` …)
 * @example
 * ```ts
 * const key = decodeKeyShare(await readFile('key.json', 'utf8'))
 * const sig = await runFrostSign(party.session({ id, participants: signers }), key, message)
 * ed25519.verify(sig, message, fromHex(key.groupPublicKey)) // true
 * ```
 */
export async function runFrostSign(
  session: Session,
  keyShare: FrostKeyShare,
  message: Uint8Array,
  options: FrostSignOptions = {},
): Promise<Uint8Array> {
  const { signal } = options
  const r1 = options.firstRound ?? 1
  try {
    checkArguments(session, keyShare, message, r1)
    checkSigners(session.participants, keyShare)
    checkSignal(signal)
    return await sign(session, keyShare, message, r1, signal)
  } catch (e) {
    await abortOnFailure(session, e)
    throw e
  }
}

/**
 * Check that `signers` can sign with `keyShare`: each holds a share, and there are enough.
 * @throws ProtocolError `FROST_NOT_A_SIGNER` (details.party), `FROST_NOT_ENOUGH_SIGNERS`
 *   (details.signers, threshold)
 */
export function checkSigners(signers: readonly PartyId[], keyShare: FrostKeyShare): void {
  for (const p of signers) {
    if (!keyShare.participants.includes(p)) {
      throw protocolError('FROST_NOT_A_SIGNER', `frost-sign: ${short(p)} holds no share of this key`, {
        party: p,
      })
    }
  }
  if (signers.length < keyShare.threshold) {
    throw protocolError(
      'FROST_NOT_ENOUGH_SIGNERS',
      `frost-sign: ${signers.length} signers, the key needs at least ${keyShare.threshold}`,
      { signers: signers.length, threshold: keyShare.threshold },
    )
  }
}

function checkArguments(session: Session, keyShare: FrostKeyShare, message: Uint8Array, r1: number): void {
  if (!(message instanceof Uint8Array)) {
    throw new ConclaveError('INVALID_ARGUMENT', '"message" expected a Uint8Array')
  }
  if (typeof keyShare !== 'object' || keyShare === null || !(keyShare.secretShare instanceof SecretBytes)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      '"keyShare" expected a FrostKeyShare (runFrostDkg or decodeKeyShare)',
    )
  }
  if (keyShare.secretShare.wiped) throw new ConclaveError('INVALID_ARGUMENT', '"keyShare" was wiped')
  if (keyShare.participants[keyShare.index - 1] !== session.self) {
    throw new ConclaveError('INVALID_ARGUMENT', '"keyShare" belongs to another party than this session\'s')
  }
  if (!Number.isInteger(r1) || r1 < 1 || r1 > 0xffffffff - 1) {
    throw new ConclaveError('INVALID_ARGUMENT', `frost-sign: "firstRound" expected an integer ≥ 1, got ${r1}`)
  }
}

async function sign(
  session: Session,
  keyShare: FrostKeyShare,
  message: Uint8Array,
  r1: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const signers = session.participants
  const others = session.others
  const idOf = (p: PartyId): string =>
    frostIdentifier(keyShare.sessionId, keyShare.participants.indexOf(p) + 1, p)
  const pub = frostPublic(keyShare)
  const groupPublicKey = fromHex(keyShare.groupPublicKey)
  const digest = messageDigest(message)
  const secret = { identifier: ownIdentifier(keyShare), signingShare: keyShare.secretShare.expose() }
  let nonces: Nonces | undefined
  try {
    // ── round 1: nonce commitments (broadcast) ─────────────────────────────────────────────
    const generated = frost.commit(secret)
    nonces = generated.nonces
    const myCommit = encodeSignCommit({
      groupPublicKey,
      messageDigest: digest,
      hiding: generated.commitments.hiding,
      binding: generated.commitments.binding,
    })
    await session.broadcast(r1, myCommit, { kind: FROST_KIND.signCommit })
    const commitBodies = await collect(session, r1, FROST_KIND.signCommit, true, signal)
    const commitmentList: NonceCommitments[] = []
    for (const p of signers) {
      if (p === session.self) {
        commitmentList.push(generated.commitments)
        continue
      }
      const m = decodeOr(commitBodies.get(p)!, decodeSignCommit, p, r1)
      if (!equalBytes(m.groupPublicKey, groupPublicKey)) {
        throw protocolError('FROST_PARAMS_MISMATCH', `frost-sign: ${short(p)} signs with another group key`, {
          party: p,
          round: r1,
          what: 'groupPublicKey',
        })
      }
      if (!equalBytes(m.messageDigest, digest)) {
        throw protocolError('FROST_PARAMS_MISMATCH', `frost-sign: ${short(p)} signs another message`, {
          party: p,
          round: r1,
          what: 'message',
        })
      }
      if (!isValidElement(m.hiding) || !isValidElement(m.binding)) {
        throw protocolError(
          'FROST_BAD_COMMITMENT',
          `frost-sign: the nonce commitment from ${short(p)} is invalid`,
          {
            culprit: p,
            round: r1,
          },
        )
      }
      commitmentList.push({ identifier: idOf(p), hiding: m.hiding.slice(), binding: m.binding.slice() })
    }
    const echo = echoList(session.id, r1, signers, new Map([...commitBodies, [session.self, myCommit]]))

    // ── round 2: signature shares (broadcast) ──────────────────────────────────────────────
    checkSignal(signal)
    const myShare = frost.signShare(secret, pub, nonces, commitmentList, message)
    await session.broadcast(r1 + 1, encodeSignShare({ echo, share: myShare }), { kind: FROST_KIND.signShare })
    const shareBodies = await collect(session, r1 + 1, FROST_KIND.signShare, true, signal)
    const shares: Record<string, Uint8Array> = { [secret.identifier]: myShare }
    for (const from of others) {
      const m = decodeOr(shareBodies.get(from)!, decodeSignShare, from, r1 + 1)
      checkEcho(echo, m.echo, signers, from, r1 + 1, 'frost-sign')
      let ok = false
      try {
        ok = frost.verifyShare(pub, commitmentList, message, idOf(from), m.share)
      } catch {
        ok = false
      }
      if (!ok) {
        throw protocolError(
          'FROST_BAD_SHARE',
          `frost-sign: the signature share from ${short(from)} does not verify`,
          { culprit: from, round: r1 + 1 },
        )
      }
      shares[idOf(from)] = m.share
    }
    const signature = frost.aggregate(pub, commitmentList, message, shares)
    if (
      !ed25519.verify(signature, message, groupPublicKey, { zip215: false }) ||
      !strictVerifyNoble(groupPublicKey, message, signature)
    ) {
      throw protocolError('FROST_SIGNATURE_INVALID', 'frost-sign: the aggregated signature does not verify', {
        round: r1 + 1,
      })
    }
    return signature
  } finally {
    // signShare zeroes the nonces it consumed; zero them as well on every other path
    nonces?.hiding.fill(0)
    nonces?.binding.fill(0)
    secret.signingShare.fill(0)
  }
}
