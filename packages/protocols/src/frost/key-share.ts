/**
 * A participant's FROST key share, its JSON file format, and the secret wrapper that keeps the
 * signing share out of logs.
 *
 * File format (version 1), written by the CLI with mode 0600:
 * ```json
 * {
 *   "version": 1,
 *   "suite": "FROST-ED25519-SHA512-v1",
 *   "sessionId": "<64 hex: the DKG session>",
 *   "threshold": 3,
 *   "groupPublicKey": "<64 hex>",
 *   "commitments": ["<64 hex>", …],      // threshold points, commitments[0] = groupPublicKey
 *   "participants": ["<PartyId>", …],     // sorted: index i is participants[i - 1]
 *   "verifyingShares": ["<64 hex>", …],   // one per participant, same order
 *   "index": 2,
 *   "secretShare": "<64 hex>"             // the secret: never logged
 * }
 * ```
 * @module
 */
import {
  ConclaveError,
  fromHex,
  type PartyId,
  parsePartyId,
  parseSessionId,
  type SessionId,
  toHex,
} from '@conclave/core'
import { equalBytes } from '@conclave/core/wire'
import { ed25519 } from '@noble/curves/ed25519.js'
import { ProtocolError } from '../errors.ts'
import { FROST_SUITE, frost, frostIdentifier, isValidElement } from './common.ts'

/** Version of the key-share file format. */
export const KEY_SHARE_VERSION = 1

const REDACTED = '[secret]'

/**
 * Secret bytes that do not print: `toString`, `toJSON` and Node's `util.inspect` show
 * `[secret]`, so a key share passed to a logger or `JSON.stringify` leaks nothing. The bytes
 * are read with {@link SecretBytes.expose} (a copy) and erased with {@link SecretBytes.wipe}.
 * A structured clone (postMessage) does not carry them: move key shares across a Worker boundary
 * as {@link encodeKeyShare} output.
 */
export class SecretBytes {
  readonly #bytes: Uint8Array
  #wiped = false

  /** Keeps a copy of `bytes`. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes.slice()
  }

  /** Number of bytes. */
  get length(): number {
    return this.#bytes.length
  }

  /** True after {@link SecretBytes.wipe}. */
  get wiped(): boolean {
    return this.#wiped
  }

  /**
   * A fresh copy of the bytes; the caller should `fill(0)` it when done.
   * @throws ConclaveError `INVALID_ARGUMENT` after {@link SecretBytes.wipe}
   */
  expose(): Uint8Array {
    if (this.#wiped) throw new ConclaveError('INVALID_ARGUMENT', 'secret was wiped')
    return this.#bytes.slice()
  }

  /** Overwrite the bytes with zeros; later {@link SecretBytes.expose} calls throw. */
  wipe(): void {
    this.#bytes.fill(0)
    this.#wiped = true
  }

  /** `[secret]`: never the bytes. */
  toString(): string {
    return REDACTED
  }

  /** `[secret]`: `JSON.stringify` of a key share does not serialise the share. */
  toJSON(): string {
    return REDACTED
  }

  /** What Node's `util.inspect` (console.log) shows. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SecretBytes(${REDACTED})`
  }
}

/** A participant's share of a FROST(Ed25519, SHA-512) key, as produced by `runFrostDkg`. */
export interface FrostKeyShare {
  /** The ciphersuite. */
  readonly suite: typeof FROST_SUITE
  /** The DKG session; participant identifiers are derived from it (see `frostIdentifier`). */
  readonly sessionId: SessionId
  /** Minimum number of signers. */
  readonly threshold: number
  /** The group's Ed25519 public key (32-byte hex): signatures verify with plain Ed25519. */
  readonly groupPublicKey: string
  /** The group's VSS commitment: `threshold` points (hex), the first being the group key. */
  readonly commitments: readonly string[]
  /** Every DKG participant, sorted; participant `i` (1-based) is `participants[i - 1]`. */
  readonly participants: readonly PartyId[]
  /** Each participant's verifying share (hex point), in `participants` order. */
  readonly verifyingShares: readonly string[]
  /** This party's index, 1-based. */
  readonly index: number
  /** This party's signing share (a scalar). Never logged, never sent. */
  readonly secretShare: SecretBytes
}

/** noble's public package of a key share. */
export function frostPublic(k: FrostKeyShare): {
  signers: { min: number; max: number }
  commitments: Uint8Array[]
  verifyingShares: Record<string, Uint8Array>
} {
  const verifyingShares: Record<string, Uint8Array> = {}
  k.participants.forEach((p, i) => {
    verifyingShares[frostIdentifier(k.sessionId, i + 1, p)] = fromHex(k.verifyingShares[i]!)
  })
  return {
    signers: { min: k.threshold, max: k.participants.length },
    commitments: k.commitments.map((c) => fromHex(c)),
    verifyingShares,
  }
}

/** This party's FROST identifier in `k`. */
export function ownIdentifier(k: FrostKeyShare): string {
  return frostIdentifier(k.sessionId, k.index, k.participants[k.index - 1]!)
}

/**
 * Serialise a key share to its JSON file format (see the module doc). The result contains the
 * secret share: write it only to protected storage (mode 0600), never to a log.
 */
export function encodeKeyShare(k: FrostKeyShare): string {
  const secret = k.secretShare.expose()
  try {
    return `${JSON.stringify(
      {
        version: KEY_SHARE_VERSION,
        suite: k.suite,
        sessionId: k.sessionId,
        threshold: k.threshold,
        groupPublicKey: k.groupPublicKey,
        commitments: k.commitments,
        participants: k.participants,
        verifyingShares: k.verifyingShares,
        index: k.index,
        secretShare: toHex(secret),
      },
      null,
      2,
    )}\n`
  } finally {
    secret.fill(0)
  }
}

const FIELDS = [
  'version',
  'suite',
  'sessionId',
  'threshold',
  'groupPublicKey',
  'commitments',
  'participants',
  'verifyingShares',
  'index',
  'secretShare',
] as const

function invalid(message: string, field?: string): ProtocolError {
  return new ProtocolError('FROST_KEY_SHARE_INVALID', `key share: ${message}`, field ? { field } : {})
}

function hex32(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw invalid(`"${field}" expected 64 lowercase hex characters`, field)
  }
  return value
}

function point(value: unknown, field: string): string {
  const h = hex32(value, field)
  if (!isValidElement(fromHex(h))) throw invalid(`"${field}" is not a valid group element`, field)
  return h
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`"${field}" expected an integer from ${min} to ${max}`, field)
  }
  return value
}

function array(value: unknown, field: string, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw invalid(`"${field}" expected an array of ${length}`, field)
  }
  return value
}

/**
 * Parse and check a key share written by {@link encodeKeyShare}: every field present and well
 * formed, no unknown field, participants sorted and distinct, every point a valid group element,
 * the group key the first commitment, and the secret share consistent with the commitments and
 * with this party's verifying share (noble's `validateSecret`).
 * Error messages never include the secret share.
 * @throws ProtocolError `FROST_KEY_SHARE_VERSION` for another version or suite;
 *   `FROST_KEY_SHARE_INVALID` (details.field) for anything else
 */
export function decodeKeyShare(text: string): FrostKeyShare {
  if (typeof text !== 'string') throw invalid('expected a JSON string')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw invalid('not valid JSON')
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('expected a JSON object')
  const o = raw as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw invalid(`unknown field "${key}"`, key)
  }
  if (o.version !== KEY_SHARE_VERSION || o.suite !== FROST_SUITE) {
    throw new ProtocolError(
      'FROST_KEY_SHARE_VERSION',
      `key share: expected version ${KEY_SHARE_VERSION} of ${FROST_SUITE}, got version ${JSON.stringify(o.version)} of ${JSON.stringify(o.suite)}`,
    )
  }
  let sessionId: SessionId
  try {
    sessionId = parseSessionId(o.sessionId)
  } catch {
    throw invalid('"sessionId" expected 64 lowercase hex characters', 'sessionId')
  }
  if (!Array.isArray(o.participants)) throw invalid('"participants" expected an array', 'participants')
  const n = integer(o.participants.length, 'participants', 2, 0xffff)
  const participants: PartyId[] = []
  for (const p of o.participants) {
    let id: PartyId
    try {
      id = parsePartyId(p)
    } catch {
      throw invalid('"participants" expected PartyIds', 'participants')
    }
    const prev = participants[participants.length - 1]
    if (prev !== undefined && prev >= id)
      throw invalid('"participants" expected sorted and distinct', 'participants')
    participants.push(id)
  }
  const threshold = integer(o.threshold, 'threshold', 2, n)
  const index = integer(o.index, 'index', 1, n)
  const groupPublicKey = point(o.groupPublicKey, 'groupPublicKey')
  const commitments = array(o.commitments, 'commitments', threshold).map((c) => point(c, 'commitments'))
  if (commitments[0] !== groupPublicKey) {
    throw invalid('"groupPublicKey" is not the first commitment', 'groupPublicKey')
  }
  const verifyingShares = array(o.verifyingShares, 'verifyingShares', n).map((v) =>
    point(v, 'verifyingShares'),
  )
  const secret = fromHex(hex32(o.secretShare, 'secretShare'))
  try {
    const share: FrostKeyShare = {
      suite: FROST_SUITE,
      sessionId,
      threshold,
      groupPublicKey,
      commitments,
      participants,
      verifyingShares,
      index,
      secretShare: new SecretBytes(secret),
    }
    try {
      frost.validateSecret({ identifier: ownIdentifier(share), signingShare: secret }, frostPublic(share))
    } catch {
      throw invalid('"secretShare" does not match the commitments', 'secretShare')
    }
    const own = ed25519.Point.BASE.multiply(frost.utils.Fn.fromBytes(secret)).toBytes()
    if (!equalBytes(own, fromHex(verifyingShares[index - 1]!))) {
      throw invalid('"secretShare" does not match this party\'s verifying share', 'verifyingShares')
    }
    return share
  } finally {
    secret.fill(0)
  }
}
