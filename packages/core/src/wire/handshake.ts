/**
 * Handshake messages of DESIGN ("Secure channel"), carried in cleartext `handshake` frames.
 *
 * ```
 * message = u8 version (1) ‖ u8 type ‖ body
 *   type 1 hello: u8 n ‖ n × u8 protocol versions ‖ bytes32 PartyId ‖ bytes32 ephemeral X25519 ‖
 *                 bytes32 nonce ‖ str16 mode ‖ u64 clock (ms) ‖ bytes16 epoch ‖
 *                 u16 n ‖ n × str16 local fingerprints ‖ u16 m ‖ m × str16 remote fingerprints
 *   type 2 auth:  bytes64 signature
 * transcript = SHA-256(u32 len ‖ hello_I ‖ u32 len ‖ hello_R)   (hello_X: the whole message bytes)
 * auth signs   "conclave/v1/handshake" 0x00 ‖ u8 role (0 initiator, 1 responder) ‖ transcript
 * keys         HKDF-SHA256(ikm = X25519 shared secret, salt = transcript,
 *                          info = "conclave/v1 i->r" | "conclave/v1 r->i", 32 bytes each)
 * ```
 * Fingerprint lines are `alg HEX` (e.g. `sha-256 AB:CD:…`), sorted; empty lists off webrtc.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { Reader, utf8, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { CONTEXT } from './contexts.ts'

/** Handshake message encoding version. */
export const HANDSHAKE_VERSION = 1
/**
 * Channel protocol versions this code speaks, newest last. A link runs the highest both sides
 * offer. 2: batches may travel compact (`0x81`, DESIGN "Batch"); to a version-1 peer they go in
 * the full form (`0x80`), which carries the same envelopes and signature.
 */
export const PROTOCOL_VERSIONS: readonly number[] = [1, 2]
/** The first protocol version whose peers read compact batches. */
export const COMPACT_BATCH_VERSION = 2

/** The type byte of a handshake message: `hello` (keys, nonce, clock), then `auth` (signature). */
export const HandshakeType = { hello: 1, auth: 2 } as const

/** Roles of the two ends. */
export const Role = { initiator: 0, responder: 1 } as const
export type Role = (typeof Role)[keyof typeof Role]

/** The first handshake message of each end: its versions, keys, mode and link fingerprints. */
export interface Hello {
  versions: number[]
  /** 32-byte identity public key. */
  partyId: Uint8Array
  /** 32-byte X25519 public key. */
  ephemeral: Uint8Array
  /** 32 random bytes. */
  nonce: Uint8Array
  /** Service mode (app/protocol tag) that must match on both ends. */
  mode: string
  /** Sender's clock, ms since the Unix epoch. */
  clock: bigint
  /** 16-byte stream epoch. */
  epoch: Uint8Array
  /** Sorted `alg HEX` lines of the sender's local description. */
  localFingerprints: string[]
  /** Sorted `alg HEX` lines of the sender's remote description. */
  remoteFingerprints: string[]
}

/** A decoded handshake message: a `hello`, or the `auth` signature over the transcript. */
export type HandshakeMessage =
  | ({ type: typeof HandshakeType.hello } & Hello)
  | { type: typeof HandshakeType.auth; signature: Uint8Array }

const MAX_FINGERPRINTS = 8
const MAX_MODE_BYTES = 64

/** Encode a hello message. */
export function encodeHello(h: Hello): Uint8Array {
  if (h.versions.length === 0 || h.versions.length > 16) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"versions" expected 1 to 16 entries, got ${h.versions.length}`,
    )
  }
  const w = new Writer(256).u8(HANDSHAKE_VERSION).u8(HandshakeType.hello).u8(h.versions.length)
  for (const v of h.versions) w.u8(v)
  w.bytes(h.partyId, 32)
    .bytes(h.ephemeral, 32)
    .bytes(h.nonce, 32)
    .str16(h.mode)
    .u64(h.clock)
    .bytes(h.epoch, 16)
  for (const list of [h.localFingerprints, h.remoteFingerprints]) {
    if (list.length > MAX_FINGERPRINTS) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `expected at most ${MAX_FINGERPRINTS} fingerprints, got ${list.length}`,
      )
    }
    w.u16(list.length)
    for (const f of list) w.str16(f)
  }
  return w.finish()
}

/** Encode an auth message. */
export function encodeAuth(signature: Uint8Array): Uint8Array {
  return new Writer(66).u8(HANDSHAKE_VERSION).u8(HandshakeType.auth).bytes(signature, 64).finish()
}

/**
 * Decode a handshake message.
 * @throws ConclaveError `DECODE_UNKNOWN_VERSION`, `DECODE_UNKNOWN_TYPE`, `DECODE_SHORT_INPUT`,
 *   `DECODE_TRAILING_BYTES`, `DECODE_BAD_LENGTH`, `DECODE_BAD_UTF8`
 */
export function decodeHandshake(bytes: Uint8Array): HandshakeMessage {
  const r = new Reader(bytes)
  const version = r.u8('handshake version')
  if (version !== HANDSHAKE_VERSION)
    throw new ConclaveError('DECODE_UNKNOWN_VERSION', `unknown handshake version ${version}`)
  const type = r.u8('handshake type')
  if (type === HandshakeType.auth) {
    const signature = r.bytes(64, 'auth signature')
    r.end('auth')
    return { type, signature }
  }
  if (type !== HandshakeType.hello)
    throw new ConclaveError('DECODE_UNKNOWN_TYPE', `unknown handshake message type ${type}`)
  const n = r.u8('versions count')
  if (n === 0 || n > 16) throw new ConclaveError('DECODE_BAD_LENGTH', `expected 1 to 16 versions, got ${n}`)
  const versions: number[] = []
  for (let i = 0; i < n; i++) versions.push(r.u8('version'))
  const partyId = r.bytes(32, 'partyId')
  const ephemeral = r.bytes(32, 'ephemeral')
  const nonce = r.bytes(32, 'nonce')
  const mode = r.str16('mode')
  if (utf8(mode).length > MAX_MODE_BYTES)
    throw new ConclaveError('DECODE_BAD_LENGTH', `mode longer than ${MAX_MODE_BYTES} bytes`)
  const clock = r.u64('clock')
  const epoch = r.bytes(16, 'epoch')
  const lists: string[][] = []
  for (const what of ['local fingerprints', 'remote fingerprints']) {
    const count = r.u16(what)
    if (count > MAX_FINGERPRINTS)
      throw new ConclaveError(
        'DECODE_BAD_LENGTH',
        `expected at most ${MAX_FINGERPRINTS} ${what}, got ${count}`,
      )
    const list: string[] = []
    for (let i = 0; i < count; i++) list.push(r.str16(what))
    lists.push(list)
  }
  r.end('hello')
  return {
    type,
    versions,
    partyId,
    ephemeral,
    nonce,
    mode,
    clock,
    epoch,
    localFingerprints: lists[0]!,
    remoteFingerprints: lists[1]!,
  }
}

/** `SHA-256(u32 len ‖ hello_I ‖ u32 len ‖ hello_R)`. */
export function transcriptHash(helloInitiator: Uint8Array, helloResponder: Uint8Array): Uint8Array {
  return sha256(
    new Writer(helloInitiator.length + helloResponder.length + 8)
      .bytes32len(helloInitiator)
      .bytes32len(helloResponder)
      .finish(),
  )
}

/** The exact bytes the `auth` signature covers for `role`. */
export function authSignedBytes(role: Role, transcript: Uint8Array): Uint8Array {
  return new Writer(CONTEXT.handshake.length + 33)
    .bytes(CONTEXT.handshake)
    .u8(role)
    .bytes(transcript, 32)
    .finish()
}

/** The two direction keys. */
export interface DirectionKeys {
  initiatorToResponder: Uint8Array
  responderToInitiator: Uint8Array
}

const INFO_I2R = utf8('conclave/v1 i->r')
const INFO_R2I = utf8('conclave/v1 r->i')

/**
 * Derive the direction keys.
 * @throws ConclaveError `HANDSHAKE_WEAK_KEY` when the shared secret is all zero.
 */
export function deriveKeys(sharedSecret: Uint8Array, transcript: Uint8Array): DirectionKeys {
  if (sharedSecret.every((b) => b === 0))
    throw new ConclaveError('HANDSHAKE_WEAK_KEY', 'all-zero X25519 shared secret')
  return {
    initiatorToResponder: hkdf(sha256, sharedSecret, transcript, INFO_I2R, 32),
    responderToInitiator: hkdf(sha256, sharedSecret, transcript, INFO_R2I, 32),
  }
}
