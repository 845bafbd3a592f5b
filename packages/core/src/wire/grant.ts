/**
 * Session grants (DESIGN "Session control"): an issuer whose key the roster lists signs, in the
 * grant context, that a session may run.
 *
 * ```
 * body  = u8 version (1) ‖ bytes16 grantId ‖ bytes32 sessionId ‖ u16 n ‖ n × bytes32 participants
 *         (sorted) ‖ u16 threshold ‖ u64 expiry (ms since the Unix epoch) ‖ bytes32 nonce
 * signed = "conclave/grant/v1" 0x00 ‖ body
 * grant  = body ‖ bytes32 issuer ‖ signature(64)
 * ```
 * @module
 */
import { compareBytes, fromHex, Reader, toHex, Writer } from '../bytes.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import {
  type PartyId,
  partyIdFromBytes,
  partyIdToBytes,
  type SessionId,
  sessionIdFromBytes,
  sessionIdToBytes,
} from '../ids.ts'
import { CONTEXT } from './contexts.ts'
import { MAX_PARTICIPANTS } from './proposal.ts'

/** The version byte that starts an encoded grant. */
export const GRANT_VERSION = 1

/** What a grant allows. */
export interface GrantFields {
  /** 16 bytes, hex. */
  grantId: string
  sessionId: SessionId
  participants: readonly PartyId[]
  threshold: number
  /** ms since the Unix epoch. */
  expiresAt: number
  /** 32 bytes. */
  nonce: Uint8Array
}

/** A decoded grant. */
export interface Grant extends GrantFields {
  issuer: PartyId
  body: Uint8Array
  signature: Uint8Array
  bytes: Uint8Array
}

function encodeBody(g: GrantFields): Uint8Array {
  const ids = g.participants.map((p) => partyIdToBytes(p)).sort(compareBytes)
  if (!/^[0-9a-f]{32}$/.test(g.grantId)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"grantId" expected 32 lowercase hex characters, got ${g.grantId}`,
    )
  }
  if (!Number.isInteger(g.threshold) || g.threshold < 1 || g.threshold > ids.length) {
    throw new ConclaveError('INVALID_ARGUMENT', `"threshold" expected 1 to ${ids.length}, got ${g.threshold}`)
  }
  const w = new Writer(128 + ids.length * 32)
    .u8(GRANT_VERSION)
    .bytes(fromHex(g.grantId), 16)
    .bytes(sessionIdToBytes(g.sessionId), 32)
    .u16(ids.length)
  for (const id of ids) w.bytes(id, 32)
  return w.u16(g.threshold).u64(BigInt(g.expiresAt)).bytes(g.nonce, 32).finish()
}

/** The exact bytes an issuer signs. */
export function grantSignedBytes(body: Uint8Array): Uint8Array {
  return new Writer(CONTEXT.grant.length + body.length).bytes(CONTEXT.grant).bytes(body).finish()
}

/** Issue a grant with `issuer`'s key. */
export async function issueGrant(
  crypto: CryptoBackend,
  issuer: SigningKey,
  fields: GrantFields,
): Promise<Uint8Array> {
  const body = encodeBody(fields)
  const signature = await crypto.ed25519.sign(issuer, grantSignedBytes(body))
  return new Writer(body.length + 96).bytes(body).bytes(issuer.publicKey, 32).bytes(signature, 64).finish()
}

/**
 * Decode a grant (structure only).
 * @throws ConclaveError `DECODE_*` codes, `INVALID_PARTY_ID`
 */
export function decodeGrant(bytes: Uint8Array): Grant {
  const r = new Reader(bytes)
  const v = r.u8('grant version')
  if (v !== GRANT_VERSION) throw new ConclaveError('DECODE_UNKNOWN_VERSION', `unknown grant version ${v}`)
  const grantId = toHex(r.bytes(16, 'grantId'))
  const sessionId = sessionIdFromBytes(r.bytes(32, 'sessionId'))
  const n = r.u16('participant count')
  if (n < 1 || n > MAX_PARTICIPANTS)
    throw new ConclaveError('DECODE_BAD_LENGTH', `expected 1 to ${MAX_PARTICIPANTS} participants, got ${n}`)
  const participants: PartyId[] = []
  for (let i = 0; i < n; i++) participants.push(partyIdFromBytes(r.bytes(32, 'participant')))
  const threshold = r.u16('threshold')
  const expiresAt = Number(r.u64('expiry'))
  const nonce = r.bytes(32, 'nonce').slice()
  const body = bytes.subarray(0, r.offset)
  const issuer = partyIdFromBytes(r.bytes(32, 'issuer'))
  const signature = r.bytes(64, 'signature').slice()
  r.end('grant')
  return { grantId, sessionId, participants, threshold, expiresAt, nonce, issuer, body, signature, bytes }
}
