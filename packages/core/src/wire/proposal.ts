/**
 * The session proposal carried in the control round (round 0, kind `proposal`, broadcast).
 *
 * ```
 * proposal = u8 version (1) ‖ str16 protocol ‖ bytes32len params ‖ u16 n ‖
 *            n × bytes32 participants (sorted) ‖ bytes32 proposer ‖ bytes32 nonce ‖
 *            bytes32len grant (empty: none; see `wire/grant.ts`)
 * ```
 * Every receiver recomputes the session id from it (`deriveSessionId`) and refuses a proposal
 * whose id differs from the envelope's, whose proposer is not the sender, or that does not
 * name the receiver.
 * @module
 */
import { compareBytes, Reader, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { type PartyId, partyIdFromBytes, partyIdToBytes } from '../ids.ts'
import type { SessionIdInput } from './sid.ts'

/** The version byte that starts an encoded proposal. */
export const PROPOSAL_VERSION = 1
/** Most participants in one session. */
export const MAX_PARTICIPANTS = 1024
/** Largest protocol parameters. */
export const MAX_PARAMS_BYTES = 64 * 1024

/** Encode a proposal (participants sorted by byte order). */
export function encodeProposal(p: SessionIdInput, grant: Uint8Array = new Uint8Array(0)): Uint8Array {
  const ids = p.participants.map((x) => partyIdToBytes(x)).sort(compareBytes)
  if (ids.length < 2 || ids.length > MAX_PARTICIPANTS) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"participants" expected 2 to ${MAX_PARTICIPANTS}, got ${ids.length}`,
    )
  }
  if (p.params.length > MAX_PARAMS_BYTES) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"params" expected at most ${MAX_PARAMS_BYTES} bytes, got ${p.params.length}`,
    )
  }
  const w = new Writer(128 + 32 * ids.length + p.params.length)
    .u8(PROPOSAL_VERSION)
    .str16(p.protocol)
    .bytes32len(p.params)
    .u16(ids.length)
  for (const id of ids) w.bytes(id, 32)
  return w.bytes(partyIdToBytes(p.proposer), 32).bytes(p.nonce, 32).bytes32len(grant).finish()
}

/**
 * Decode a proposal.
 * @throws ConclaveError `DECODE_*` codes, `INVALID_PARTY_ID`
 */
export function decodeProposal(bytes: Uint8Array): SessionIdInput & { grant: Uint8Array | undefined } {
  const r = new Reader(bytes)
  const v = r.u8('proposal version')
  if (v !== PROPOSAL_VERSION)
    throw new ConclaveError('DECODE_UNKNOWN_VERSION', `unknown proposal version ${v}`)
  const protocol = r.str16('protocol')
  const params = r.bytes32len('params', MAX_PARAMS_BYTES).slice()
  const n = r.u16('participant count')
  if (n < 2 || n > MAX_PARTICIPANTS)
    throw new ConclaveError('DECODE_BAD_LENGTH', `expected 2 to ${MAX_PARTICIPANTS} participants, got ${n}`)
  const participants: PartyId[] = []
  for (let i = 0; i < n; i++) participants.push(partyIdFromBytes(r.bytes(32, 'participant')))
  const proposer = partyIdFromBytes(r.bytes(32, 'proposer'))
  const nonce = r.bytes(32, 'nonce').slice()
  const grant = r.bytes32len('grant', 64 * 1024)
  r.end('proposal')
  return {
    protocol,
    params,
    participants,
    proposer,
    nonce,
    grant: grant.length > 0 ? grant.slice() : undefined,
  }
}
