/**
 * The one Ed25519 verification rule of Conclave (DESIGN, "Identity and trust"), shared by both
 * backends.
 *
 * Ed25519 implementations disagree on edge cases (see Chalkias, Garillot, Nikolaenko, "Taming the
 * many EdDSAs", 2020): some accept non-canonical encodings of A or R, some accept S ≥ L, and —
 * the deepest split — some check the cofactored equation `[8][S]B = [8]R + [8][k]A` while others
 * check the cofactorless one `[S]B = R + [k]A`. The two equations give different verdicts exactly
 * when A or R carries a small-order (torsion) component. Measured here: Node's WebCrypto (OpenSSL)
 * is cofactorless and accepts small-order, mixed-order and even some non-canonical public keys;
 * noble's `ed25519.verify` is cofactored (and ZIP-215 permissive by default).
 *
 * The rule here is:
 * 1. A is a canonical encoding (y < p, and not x = 0 with the sign bit set), is not one of the
 *    eight small-order points ({@link assertValidPublicKey} throws `KEY_SMALL_ORDER`), and lies in
 *    the prime-order subgroup, `[L]A = 0` (else `KEY_INVALID`).
 * 2. The signature is 64 bytes, S < L, and R is a canonical encoding.
 * 3. Cofactorless: with k = SHA-512(R ‖ A ‖ M) mod L, the encoding of `[S]B − [k]A` equals the R
 *    bytes exactly.
 *
 * Why this makes every backend agree: once A is torsion-free, `[S]B − [k]A` lies in the
 * prime-order subgroup, so the rule accepts only when R is that exact point in its unique canonical
 * encoding. Cofactorless implementations that compare encodings (OpenSSL, BoringSSL — that is,
 * WebCrypto in Node and Chromium) and those that decode R and compare points then give the same
 * answer on every input that passes {@link precheck}, which is how the WebCrypto backend uses it.
 * A cofactored platform verifier would still accept R = R' + T for a torsion point T; the vector
 * file has a case for that (mixed-order R with a torsion-free A), so such a platform fails the
 * shared vectors rather than disagreeing silently.
 * @module
 */
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { assertBytes, concatBytes, equalBytes, toHex } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'

/** How many accepted public keys {@link assertValidPublicKey} remembers (oldest dropped first). */
export const PUBLIC_KEY_CACHE_SIZE = 4096

const Point = ed25519.Point
/** Order of the prime-order subgroup, 2^252 + 27742317777372353535851937790883648493. */
const L = Point.Fn.ORDER
/** The field prime 2^255 − 19. */
const P = Point.Fp.ORDER
const SIGN_BIT = 1n << 255n

/** Accepted public keys (hex) → decoded point. Insertion order is eviction order. */
const accepted = new Map<string, EdwardsPoint>()

/**
 * True when `bytes` (32 bytes) is the canonical encoding of a y coordinate and sign: y < p, and
 * not x = 0 with the sign bit set. x = 0 only for y = ±1 on this curve, so no square root is
 * needed. Whether the point is on the curve is a separate question.
 */
function isCanonicalEncoding(bytes: Uint8Array): boolean {
  const n = bytesToNumberLE(bytes)
  const y = n & (SIGN_BIT - 1n)
  if (y >= P) return false
  const signBit = n >= SIGN_BIT
  return !(signBit && (y === 1n || y === P - 1n))
}

/** Decode a public key under the strict rule, or throw `KEY_INVALID` / `KEY_SMALL_ORDER`. */
function decodePublicKey(publicKey: Uint8Array): EdwardsPoint {
  assertBytes('publicKey', publicKey)
  if (publicKey.length !== 32) {
    throw new ConclaveError('KEY_INVALID', `"publicKey" expected 32 bytes, got ${publicKey.length}`)
  }
  const id = toHex(publicKey)
  const cached = accepted.get(id)
  if (cached !== undefined) return cached
  if (!isCanonicalEncoding(publicKey)) {
    throw new ConclaveError('KEY_INVALID', 'public key is not a canonical point encoding')
  }
  let A: EdwardsPoint
  try {
    // zip215 = false: RFC 8032 decoding, refuses y ≥ p and x = 0 with the sign bit (checked above too).
    A = Point.fromBytes(publicKey, false)
  } catch (cause) {
    throw new ConclaveError('KEY_INVALID', 'public key is not a point on the curve', {}, { cause })
  }
  if (A.isSmallOrder()) throw new ConclaveError('KEY_SMALL_ORDER', 'public key has small order')
  // A scalar multiplication: the reason accepted keys are cached.
  if (!A.isTorsionFree()) {
    throw new ConclaveError('KEY_INVALID', 'public key is not in the prime-order subgroup (mixed order)')
  }
  if (accepted.size >= PUBLIC_KEY_CACHE_SIZE) {
    const oldest = accepted.keys().next()
    if (oldest.done !== true) accepted.delete(oldest.value)
  }
  accepted.set(id, A)
  return A
}

/** The decoded key, or undefined when the strict rule refuses it. */
function tryDecodePublicKey(publicKey: Uint8Array): EdwardsPoint | undefined {
  try {
    return decodePublicKey(publicKey)
  } catch {
    return undefined
  }
}

/**
 * Check that a public key is acceptable as an identity: 32 bytes, a canonical encoding of a curve
 * point, not of small order, and in the prime-order subgroup. Accepted keys are cached
 * ({@link PUBLIC_KEY_CACHE_SIZE} entries), since the subgroup check costs a scalar multiplication.
 *
 * @throws ConclaveError `INVALID_ARGUMENT` when `publicKey` is not a Uint8Array; `KEY_SMALL_ORDER`
 *   for the eight small-order points; `KEY_INVALID` for a wrong length, a non-canonical encoding,
 *   a y with no curve point, or a point with a torsion component.
 */
export function assertValidPublicKey(publicKey: Uint8Array): void {
  decodePublicKey(publicKey)
}

/**
 * Everything of the strict rule except the curve equation: `publicKey` passes
 * {@link assertValidPublicKey}, `signature` is 64 bytes with S < L and a canonical R encoding.
 * The WebCrypto backend runs it before `subtle.verify`, whose cofactorless, byte-comparing check
 * then gives the same verdict as {@link strictVerifyNoble}.
 *
 * R is not decoded: an R that is not on the curve can never equal the encoding of `[S]B − [k]A`,
 * so every cofactorless verifier rejects it anyway.
 *
 * @returns false (never a throw) for a refused key or signature.
 * @throws ConclaveError `INVALID_ARGUMENT` when an argument is not a Uint8Array.
 */
export function precheck(publicKey: Uint8Array, signature: Uint8Array): boolean {
  assertBytes('publicKey', publicKey)
  assertBytes('signature', signature)
  if (signature.length !== 64 || tryDecodePublicKey(publicKey) === undefined) return false
  if (bytesToNumberLE(signature.subarray(32)) >= L) return false
  return isCanonicalEncoding(signature.subarray(0, 32))
}

/**
 * Strict, cofactorless Ed25519 verification on noble's Point arithmetic: the public key passes
 * {@link assertValidPublicKey}, S < L, and with k = SHA-512(R ‖ A ‖ M) mod L the encoding of
 * `[S]B − [k]A` equals the R bytes exactly. The byte comparison also refuses every non-canonical
 * R, since `toBytes()` only produces canonical encodings.
 *
 * @returns false (never a throw) for a refused key, a wrong length, S ≥ L, or a failed equation.
 * @throws ConclaveError `INVALID_ARGUMENT` when an argument is not a Uint8Array.
 * @example
 * ```ts
 * if (!strictVerifyNoble(publicKey, message, signature)) throw new ConclaveError('ENVELOPE_BAD_SIGNATURE', '…')
 * ```
 */
export function strictVerifyNoble(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  assertBytes('publicKey', publicKey)
  assertBytes('message', message)
  assertBytes('signature', signature)
  if (signature.length !== 64) return false
  const A = tryDecodePublicKey(publicKey)
  if (A === undefined) return false
  const r = signature.subarray(0, 32)
  const s = bytesToNumberLE(signature.subarray(32))
  if (s >= L) return false
  const k = bytesToNumberLE(sha512(concatBytes(r, publicKey, message))) % L
  // Public data only, so the variable-time multiplications are fine (0 ≤ s, k < L).
  const expectedR = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k))
  return equalBytes(expectedR.toBytes(), r)
}
