/**
 * Branded identifiers. Each has exactly one parse function that validates.
 * @module
 */
import { describe, fromHex, toHex } from './bytes.ts'
import { ConclaveError } from './errors.ts'

/** A party: lowercase hex of its 32-byte Ed25519 public key (self-certifying). */
export type PartyId = string & { readonly __brand: 'PartyId' }

/** A session: lowercase hex of its 32-byte id. */
export type SessionId = string & { readonly __brand: 'SessionId' }

const HEX64 = /^[0-9a-f]{64}$/

/**
 * Parse a PartyId: 64 lowercase hex characters, not all zero (the all-zero value is the broadcast
 * recipient and no key can have it).
 * @throws ConclaveError `INVALID_PARTY_ID`
 */
export function parsePartyId(value: unknown): PartyId {
  if (typeof value !== 'string' || !HEX64.test(value)) {
    throw new ConclaveError(
      'INVALID_PARTY_ID',
      `"partyId" expected 64 lowercase hex characters, got ${describe(value)}`,
    )
  }
  if (value === ZERO_HEX) throw new ConclaveError('INVALID_PARTY_ID', '"partyId" may not be all zero')
  return value as PartyId
}

/**
 * Parse a SessionId: 64 lowercase hex characters.
 * @throws ConclaveError `INVALID_SESSION_ID`
 */
export function parseSessionId(value: unknown): SessionId {
  if (typeof value !== 'string' || !HEX64.test(value)) {
    throw new ConclaveError(
      'INVALID_SESSION_ID',
      `"sessionId" expected 64 lowercase hex characters, got ${describe(value)}`,
    )
  }
  return value as SessionId
}

const ZERO_HEX = '0'.repeat(64)

/** The PartyId of a 32-byte public key. */
export function partyIdFromBytes(publicKey: Uint8Array): PartyId {
  if (publicKey.length !== 32) {
    throw new ConclaveError('INVALID_PARTY_ID', `"publicKey" expected 32 bytes, got ${publicKey.length}`)
  }
  return parsePartyId(toHex(publicKey))
}

/** The 32 bytes of a PartyId (its public key). */
export function partyIdToBytes(id: PartyId): Uint8Array {
  return fromHex(id)
}

/** The 32 bytes of a SessionId. */
export function sessionIdToBytes(id: SessionId): Uint8Array {
  return fromHex(id)
}

/** The SessionId of 32 bytes. */
export function sessionIdFromBytes(bytes: Uint8Array): SessionId {
  if (bytes.length !== 32)
    throw new ConclaveError('INVALID_SESSION_ID', `"sessionId" expected 32 bytes, got ${bytes.length}`)
  return toHex(bytes) as SessionId
}

/** The recipient of a broadcast: 32 zero bytes. */
export const BROADCAST_RECIPIENT: Uint8Array = new Uint8Array(32)
