/**
 * Session ids of DESIGN ("Sessions and inboxes"):
 * `sid = SHA-256("conclave/sid/v1" 0x00 ‖ str16 protocol ‖ bytes32len params ‖ u16 n ‖
 * sorted participant PartyIds ‖ bytes32 proposer ‖ bytes32 nonce)`.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { compareBytes, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { type PartyId, partyIdToBytes, type SessionId, sessionIdFromBytes } from '../ids.ts'
import { CONTEXT } from './contexts.ts'

/** What a session id binds. */
export interface SessionIdInput {
  protocol: string
  params: Uint8Array
  participants: readonly PartyId[]
  proposer: PartyId
  /** 32 random bytes. */
  nonce: Uint8Array
}

/**
 * Derive a session id. Every party recomputes it from the proposal, so participants, protocol
 * and parameters are bound into every signature made in the session.
 * @throws ConclaveError `INVALID_ARGUMENT`
 */
export function deriveSessionId(input: SessionIdInput): SessionId {
  const ids = input.participants.map((p) => partyIdToBytes(p)).sort(compareBytes)
  if (!input.participants.includes(input.proposer)) {
    throw new ConclaveError('INVALID_ARGUMENT', '"proposer" expected one of the participants')
  }
  const w = new Writer(128 + 32 * ids.length + input.params.length)
    .bytes(CONTEXT.sessionId)
    .str16(input.protocol)
    .bytes32len(input.params)
    .u16(ids.length)
  for (const id of ids) w.bytes(id, 32)
  w.bytes(partyIdToBytes(input.proposer), 32).bytes(input.nonce, 32)
  return sessionIdFromBytes(sha256(w.finish()))
}
