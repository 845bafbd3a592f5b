/**
 * FROST among the connected parties (`frost_dkg5_ms`, `frost_sign3of5_ms`): key generation,
 * then a signature by some of them, every run checked (one group key, one signature, and it
 * verifies with plain Ed25519).
 * @module
 */
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto'
import type { Message } from '../children.ts'
import { CONFIG, REPS } from '../config.ts'
import { type ConclaveChild, hexId, medianCpuMs, spanMs } from '../parties.ts'
import { details, fail, progress, record } from '../results.ts'
import { fmt, round } from '../stats.ts'

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32-byte key. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/**
 * Plain Ed25519 (node:crypto, RFC 8032) verification of `signatureHex` on `message` under the
 * 32-byte public key `publicKeyHex`; false for malformed input.
 */
export function ed25519Verifies(publicKeyHex: string, message: Uint8Array, signatureHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex) || !/^[0-9a-f]{128}$/.test(signatureHex)) return false
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]),
      format: 'der',
      type: 'spki',
    })
    return verifySignature(null, message, key, Buffer.from(signatureHex, 'hex'))
  } catch {
    return false
  }
}

/** A run that did not check out; `stop` when a child did not answer (a late answer would be taken for the next run's). */
export class RunFailure extends Error {
  constructor(
    message: string,
    readonly stop = false,
  ) {
    super(message)
  }
}

/** Ask every one of `parties` the same command and wait for all answers; RunFailure(stop) on a timeout. */
export async function askAll(
  parties: ConclaveChild[],
  cmd: string,
  data: Record<string, unknown>,
  timeoutMs: number,
): Promise<Message[]> {
  try {
    return await Promise.all(parties.map((p) => p.child.ask(cmd, data, cmd, timeoutMs)))
  } catch (e) {
    throw new RunFailure(e instanceof Error ? e.message : String(e), true)
  }
}

/**
 * One FROST key generation among all `parties` (threshold `CONFIG.frost.threshold`), then a
 * signature of a fresh random message by `signers` with that key, on a session of their own.
 * Checked: every party holds the same group key; every signer returns the same signature, and it
 * verifies with plain Ed25519 (node:crypto) under the group key while a one-bit change of the
 * message does not.
 * @throws RunFailure when a step fails or a check does not hold
 */
export async function frostOnce(
  parties: ConclaveChild[],
  signers: ConclaveChild[],
): Promise<{ dkg: Message[]; sign: Message[]; groupKey: string; message: string; signature: string }> {
  const participants = parties.map((p) => p.id)
  const dkg = await askAll(
    parties,
    'frost-dkg',
    { sid: hexId(), participants, threshold: CONFIG.frost.threshold },
    40_000,
  )
  const badDkg = dkg.find((a) => a.ok !== true)
  if (badDkg) throw new RunFailure(`DKG: ${String(badDkg.error)}`)
  const groupKey = String(dkg[0]?.groupPublicKey)
  if (dkg.some((a) => a.groupPublicKey !== groupKey))
    throw new RunFailure('DKG: the parties ended with different group keys')

  const message = randomBytes(32)
  const sign = await askAll(
    signers,
    'frost-sign',
    { sid: hexId(), participants: signers.map((p) => p.id), message: message.toString('hex') },
    40_000,
  )
  const badSign = sign.find((a) => a.ok !== true)
  if (badSign) throw new RunFailure(`signing: ${String(badSign.error)}`)
  const signature = String(sign[0]?.signature)
  if (sign.some((a) => a.signature !== signature || a.groupPublicKey !== groupKey))
    throw new RunFailure('signing: the signers returned different signatures (or group keys)')
  const tampered = Buffer.from(message)
  tampered[0]! ^= 1
  if (!ed25519Verifies(groupKey, message, signature) || ed25519Verifies(groupKey, tampered, signature))
    throw new RunFailure(
      `signing: ${signature.slice(0, 16)}… does not verify under the group key with Ed25519`,
    )
  return { dkg, sign, groupKey, message: message.toString('hex'), signature }
}

/**
 * `frost_dkg5_ms` and `frost_sign3of5_ms` ({@link frostOnce} REPS times, another choice of
 * signers each time), after one untimed round: the first FROST run of a process also pays for
 * JIT compilation and noble's precomputed tables. A repetition that fails a check records
 * nothing and is a failure.
 */
export async function frostReps(parties: ConclaveChild[]): Promise<void> {
  const n = parties.length
  const { threshold, signers: k } = CONFIG.frost
  for (let rep = 0; rep <= REPS; rep++) {
    const tag = rep === 0 ? 'cold, not counted' : `rep ${rep}/${REPS}`
    const signers = Array.from({ length: k }, (_, i) => parties[(Math.max(0, rep - 1) + i) % n]!)
    const numbers = signers.map((p) => parties.indexOf(p) + 1).join(', ')
    let r: Awaited<ReturnType<typeof frostOnce>>
    try {
      r = await frostOnce(parties, signers)
    } catch (e) {
      fail(`FROST ${threshold}-of-${n} ${tag}`, e)
      if (e instanceof RunFailure && !e.stop) continue
      break
    }
    const dkgMs = spanMs(r.dkg)
    const signMs = spanMs(r.sign)
    if (rep === 0) {
      details.frost_dkg5_cold_ms = round(dkgMs)
      details.frost_sign3of5_cold_ms = round(signMs)
    } else {
      record('frost_dkg5_ms', dkgMs)
      record('frost_sign3of5_ms', signMs)
      details.frost_last_signature = {
        group_public_key: r.groupKey,
        message: r.message,
        signature: r.signature,
        signers: signers.map((p) => parties.indexOf(p) + 1),
      }
    }
    progress(
      `FROST DKG ${threshold}-of-${n} ${tag}: ${fmt(dkgMs)} ms (same group key ${r.groupKey.slice(0, 12)}… at all ${n}; CPU per party, median ${fmt(medianCpuMs(r.dkg))} ms)`,
    )
    progress(
      `FROST signing ${k}-of-${n} ${tag}: ${fmt(signMs)} ms (parties ${numbers}; same signature at all ${k}, Ed25519-verified; CPU per signer, median ${fmt(medianCpuMs(r.sign))} ms)`,
    )
  }
}
