/**
 * The params a FROST proposal carries (bound into its session id): what a party needs to decide
 * whether to join and to run. The web demo and `conclave-party` both encode them here, so that a
 * page can join a Node party's proposal and the reverse.
 *
 * Format (version 1): UTF-8 JSON with the keys in this order and nothing else:
 * - `frost-dkg`: `{"version":1,"threshold":3}`
 * - `frost-sign`: `{"version":1,"groupPublicKey":"<64 hex>","message":"<hex>"}`
 *
 * Encoding is canonical (one byte string per value), which matters because the session id is
 * derived from these bytes.
 * @module
 */
import { ConclaveError, fromHex, toHex } from '@conclave/core'
import { ProtocolError } from '../errors.ts'

/** Version of the FROST params format. */
export const FROST_PARAMS_VERSION = 1

/** What a `frost-dkg` proposal carries. */
export interface FrostDkgParams {
  /** Minimum number of signers of the key (2 ≤ threshold ≤ participants). */
  readonly threshold: number
}

/** What a `frost-sign` proposal carries. */
export interface FrostSignParams {
  /** The group key to sign with (64 lowercase hex). */
  readonly groupPublicKey: string
  /** The message to sign. */
  readonly message: Uint8Array
}

const HEX64 = /^[0-9a-f]{64}$/
const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

function invalid(message: string): ProtocolError {
  return new ProtocolError('FROST_PARAMS_INVALID', message)
}

/** Parse `bytes` as a JSON object with exactly `keys` (in any order) and `version` 1. */
function readObject(bytes: Uint8Array, what: string, keys: readonly string[]): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw invalid(`${what} params expected bytes, got ${typeof bytes}`)
  let value: unknown
  try {
    value = JSON.parse(dec.decode(bytes))
  } catch {
    throw invalid(`${what} params expected UTF-8 JSON, got ${bytes.length} bytes that are not`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${what} params expected a JSON object`)
  const o = value as Record<string, unknown>
  if (o.version !== FROST_PARAMS_VERSION)
    throw invalid(`${what} params expected version ${FROST_PARAMS_VERSION}, got ${JSON.stringify(o.version)}`)
  const extra = Object.keys(o).filter((k) => k !== 'version' && !keys.includes(k))
  if (extra.length > 0) throw invalid(`${what} params have unknown keys: ${extra.join(', ')}`)
  return o
}

function isThreshold(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 2
}

/**
 * Encode the params of a `frost-dkg` proposal.
 * @throws ConclaveError `INVALID_ARGUMENT` when the threshold is not an integer ≥ 2
 * @example
 * ```ts
 * await party.propose({ protocol: FROST_DKG, params: encodeFrostDkgParams({ threshold: 3 }), participants })
 * ```
 */
export function encodeFrostDkgParams(params: FrostDkgParams): Uint8Array {
  if (!isThreshold(params?.threshold))
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"threshold" expected an integer ≥ 2, got ${JSON.stringify(params?.threshold)}`,
    )
  return enc.encode(JSON.stringify({ version: FROST_PARAMS_VERSION, threshold: params.threshold }))
}

/**
 * Decode the params of a `frost-dkg` proposal received from another party.
 * @throws ProtocolError `FROST_PARAMS_INVALID` for anything but the version-1 format
 */
export function decodeFrostDkgParams(bytes: Uint8Array): FrostDkgParams {
  const o = readObject(bytes, 'frost-dkg', ['threshold'])
  if (!isThreshold(o.threshold))
    throw invalid(`frost-dkg params: "threshold" expected an integer ≥ 2, got ${JSON.stringify(o.threshold)}`)
  return { threshold: o.threshold }
}

/**
 * Encode the params of a `frost-sign` proposal.
 * @throws ConclaveError `INVALID_ARGUMENT` for a group key that is not 64 hex digits, or a
 *   message that is not bytes
 */
export function encodeFrostSignParams(params: FrostSignParams): Uint8Array {
  const key = typeof params?.groupPublicKey === 'string' ? params.groupPublicKey.toLowerCase() : undefined
  if (key === undefined || !HEX64.test(key))
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"groupPublicKey" expected 64 hex digits, got ${JSON.stringify(params?.groupPublicKey)}`,
    )
  if (!(params.message instanceof Uint8Array))
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"message" expected a Uint8Array, got ${typeof params.message}`,
    )
  return enc.encode(
    JSON.stringify({ version: FROST_PARAMS_VERSION, groupPublicKey: key, message: toHex(params.message) }),
  )
}

/**
 * Decode the params of a `frost-sign` proposal received from another party.
 * @throws ProtocolError `FROST_PARAMS_INVALID` for anything but the version-1 format
 */
export function decodeFrostSignParams(bytes: Uint8Array): FrostSignParams {
  const o = readObject(bytes, 'frost-sign', ['groupPublicKey', 'message'])
  if (typeof o.groupPublicKey !== 'string' || !HEX64.test(o.groupPublicKey))
    throw invalid(
      `frost-sign params: "groupPublicKey" expected 64 lowercase hex digits, got ${JSON.stringify(o.groupPublicKey)}`,
    )
  if (typeof o.message !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(o.message))
    throw invalid('frost-sign params: "message" expected lowercase hex of whole bytes')
  return { groupPublicKey: o.groupPublicKey, message: fromHex(o.message) }
}
