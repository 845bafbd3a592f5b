/**
 * Wire formats of the FROST rounds. Every body starts with `u8 version ‖ u8 type`; integers are
 * big-endian; points and scalars are the ciphersuite's 32-byte encodings (RFC 9591, little-endian
 * scalars). Decoders refuse short input (`DECODE_SHORT_INPUT`), trailing bytes
 * (`DECODE_TRAILING_BYTES`), an unknown version (`DECODE_UNKNOWN_VERSION`) and a type other than
 * the one expected (`DECODE_UNKNOWN_TYPE`), each a `ConclaveError`.
 *
 * | type | round | message |
 * |---|---|---|
 * | 1 `dkg-commit` | DKG 1, broadcast | `u16 threshold ‖ u16 n ‖ threshold × bytes32 commitment ‖ bytes64 proof of knowledge` |
 * | 2 `dkg-share` | DKG 2, direct | `bytes32 signing share` (the sender's polynomial at the recipient's identifier) |
 * | 3 `dkg-confirm` | DKG 3, broadcast | `bytes32 group public key ‖ u16 n ‖ n × bytes32 echo` |
 * | 4 `sign-commit` | sign 1, broadcast | `bytes32 group public key ‖ bytes32 SHA-256(message) ‖ bytes32 hiding ‖ bytes32 binding` |
 * | 5 `sign-share` | sign 2, broadcast | `u16 n ‖ n × bytes32 echo ‖ bytes32 signature share` |
 *
 * `echo` lists, for every participant in session order (this party included), the digest of the
 * broadcast it sent in the protocol's first round: `SHA-256(sid ‖ u32 round ‖ PartyId ‖ body)`
 * (DESIGN "Consistent broadcast"). Comparing the lists shows whether everyone saw the same
 * broadcasts before anyone relies on them.
 * @module
 */
import { ConclaveError, type PartyId, partyIdToBytes, type SessionId, sessionIdToBytes } from '@conclave/core'
import { Reader, Writer } from '@conclave/core/wire'
import { sha256 } from '@noble/hashes/sha2.js'

/** Version of every FROST round message. */
export const FROST_WIRE_VERSION = 1

/** Type tags of the FROST round messages. */
export const FrostMessageType = {
  dkgCommit: 1,
  dkgShare: 2,
  dkgConfirm: 3,
  signCommit: 4,
  signShare: 5,
} as const

/** A FROST round-message type tag. */
export type FrostMessageType = (typeof FrostMessageType)[keyof typeof FrostMessageType]

/** Session `kind` of each FROST round message. */
export const FROST_KIND = {
  dkgCommit: 'frost-dkg-commit',
  dkgShare: 'frost-dkg-share',
  dkgConfirm: 'frost-dkg-confirm',
  signCommit: 'frost-sign-commit',
  signShare: 'frost-sign-share',
} as const

const POINT = 32
const SCALAR = 32
const PROOF = 64

/** DKG round 1: the sender's VSS commitment and its proof of knowledge of the constant term. */
export interface DkgCommitMessage {
  threshold: number
  n: number
  /** `threshold` points; `commitment[0]` is the sender's contribution to the group key. */
  commitment: Uint8Array[]
  proofOfKnowledge: Uint8Array
}

/** DKG round 3: what the sender computed and the round-1 broadcasts it saw. */
export interface ConfirmMessage {
  groupPublicKey: Uint8Array
  echo: Uint8Array[]
}

/** Signing round 1: the sender's nonce commitments, bound to the key and the message. */
export interface SignCommitMessage {
  groupPublicKey: Uint8Array
  messageDigest: Uint8Array
  hiding: Uint8Array
  binding: Uint8Array
}

/** Signing round 2: the round-1 broadcasts the sender saw, and its signature share. */
export interface SignShareMessage {
  echo: Uint8Array[]
  share: Uint8Array
}

function header(type: FrostMessageType, size: number): Writer {
  return new Writer(2 + size).u8(FROST_WIRE_VERSION).u8(type)
}

function open(body: Uint8Array, type: FrostMessageType): Reader {
  const r = new Reader(body)
  const version = r.u8('version')
  if (version !== FROST_WIRE_VERSION) {
    throw new ConclaveError(
      'DECODE_UNKNOWN_VERSION',
      `FROST message version ${version}, expected ${FROST_WIRE_VERSION}`,
    )
  }
  const t = r.u8('type')
  if (t !== type) throw new ConclaveError('DECODE_UNKNOWN_TYPE', `FROST message type ${t}, expected ${type}`)
  return r
}

function writeEcho(w: Writer, echo: readonly Uint8Array[]): Writer {
  w.u16(echo.length)
  for (const e of echo) w.bytes(e, 32)
  return w
}

function readEcho(r: Reader): Uint8Array[] {
  const n = r.u16('echo count')
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) out.push(r.bytes(32, 'echo'))
  return out
}

/** Encode a DKG round-1 message. */
export function encodeDkgCommit(m: DkgCommitMessage): Uint8Array {
  if (m.commitment.length !== m.threshold) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"commitment" expected ${m.threshold} points, got ${m.commitment.length}`,
    )
  }
  const w = header(FrostMessageType.dkgCommit, 4 + POINT * m.threshold + PROOF)
    .u16(m.threshold)
    .u16(m.n)
  for (const c of m.commitment) w.bytes(c, POINT)
  return w.bytes(m.proofOfKnowledge, PROOF).finish()
}

/**
 * Decode a DKG round-1 message.
 * @throws ConclaveError `DECODE_*`
 */
export function decodeDkgCommit(body: Uint8Array): DkgCommitMessage {
  const r = open(body, FrostMessageType.dkgCommit)
  const threshold = r.u16('threshold')
  const n = r.u16('n')
  const commitment: Uint8Array[] = []
  for (let i = 0; i < threshold; i++) commitment.push(r.bytes(POINT, 'commitment'))
  const proofOfKnowledge = r.bytes(PROOF, 'proof of knowledge')
  r.end('dkg-commit')
  return { threshold, n, commitment, proofOfKnowledge }
}

/** Encode a DKG round-2 message (one secret share, sent only over the recipient's link). */
export function encodeDkgShare(share: Uint8Array): Uint8Array {
  return header(FrostMessageType.dkgShare, SCALAR).bytes(share, SCALAR).finish()
}

/**
 * Decode a DKG round-2 message.
 * @throws ConclaveError `DECODE_*`
 */
export function decodeDkgShare(body: Uint8Array): Uint8Array {
  const r = open(body, FrostMessageType.dkgShare)
  const share = r.bytes(SCALAR, 'share')
  r.end('dkg-share')
  return share
}

/** Encode a DKG round-3 message. */
export function encodeDkgConfirm(m: ConfirmMessage): Uint8Array {
  const w = header(FrostMessageType.dkgConfirm, POINT + 2 + 32 * m.echo.length).bytes(m.groupPublicKey, POINT)
  return writeEcho(w, m.echo).finish()
}

/**
 * Decode a DKG round-3 message.
 * @throws ConclaveError `DECODE_*`
 */
export function decodeDkgConfirm(body: Uint8Array): ConfirmMessage {
  const r = open(body, FrostMessageType.dkgConfirm)
  const groupPublicKey = r.bytes(POINT, 'group public key')
  const echo = readEcho(r)
  r.end('dkg-confirm')
  return { groupPublicKey, echo }
}

/** Encode a signing round-1 message. */
export function encodeSignCommit(m: SignCommitMessage): Uint8Array {
  return header(FrostMessageType.signCommit, 4 * 32)
    .bytes(m.groupPublicKey, POINT)
    .bytes(m.messageDigest, 32)
    .bytes(m.hiding, POINT)
    .bytes(m.binding, POINT)
    .finish()
}

/**
 * Decode a signing round-1 message.
 * @throws ConclaveError `DECODE_*`
 */
export function decodeSignCommit(body: Uint8Array): SignCommitMessage {
  const r = open(body, FrostMessageType.signCommit)
  const m = {
    groupPublicKey: r.bytes(POINT, 'group public key'),
    messageDigest: r.bytes(32, 'message digest'),
    hiding: r.bytes(POINT, 'hiding commitment'),
    binding: r.bytes(POINT, 'binding commitment'),
  }
  r.end('sign-commit')
  return m
}

/** Encode a signing round-2 message. */
export function encodeSignShare(m: SignShareMessage): Uint8Array {
  const w = header(FrostMessageType.signShare, 2 + 32 * m.echo.length + SCALAR)
  return writeEcho(w, m.echo).bytes(m.share, SCALAR).finish()
}

/**
 * Decode a signing round-2 message.
 * @throws ConclaveError `DECODE_*`
 */
export function decodeSignShare(body: Uint8Array): SignShareMessage {
  const r = open(body, FrostMessageType.signShare)
  const echo = readEcho(r)
  const share = r.bytes(SCALAR, 'signature share')
  r.end('sign-share')
  return { echo, share }
}

/** `SHA-256(sid ‖ u32 round ‖ from ‖ body)`: the echo digest of one broadcast (DESIGN). */
export function echoDigest(sessionId: SessionId, round: number, from: PartyId, body: Uint8Array): Uint8Array {
  return sha256(
    new Writer(68 + body.length)
      .bytes(sessionIdToBytes(sessionId), 32)
      .u32(round)
      .bytes(partyIdToBytes(from), 32)
      .bytes(body)
      .finish(),
  )
}

/**
 * The echo list of one round: the digest of every participant's broadcast, in `participants`
 * order. `bodies` holds every participant's body, this party's included.
 */
export function echoList(
  sessionId: SessionId,
  round: number,
  participants: readonly PartyId[],
  bodies: ReadonlyMap<PartyId, Uint8Array>,
): Uint8Array[] {
  return participants.map((p) => {
    const body = bodies.get(p)
    if (body === undefined) throw new ConclaveError('INVALID_ARGUMENT', `no round-${round} body for ${p}`)
    return echoDigest(sessionId, round, p, body)
  })
}

/** SHA-256 of the message to sign, as carried in signing round 1. */
export function messageDigest(message: Uint8Array): Uint8Array {
  return sha256(message)
}
