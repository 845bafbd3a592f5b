/**
 * Signing and checking batches of envelopes (DESIGN "Envelope", batch): the digests of the
 * items, the batch's signed bytes, and the one signature over them. Synchronous where the
 * backend is (node:crypto), a promise otherwise.
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { CONTEXT } from '../wire/contexts.ts'
import { type BatchItem, batchSignedBytes } from '../wire/envelope.ts'

/** SHA-256 of `parts` with the backend's hash, or @noble/hashes'. */
export function sha256Of(crypto: CryptoBackend, parts: readonly Uint8Array[]): Uint8Array {
  if (crypto.sha256) return crypto.sha256(parts)
  const h = nobleSha256.create()
  for (const p of parts) h.update(p)
  return h.digest()
}

/** SHA-256 of `parts` written into `out` at `offset`, without a new array where the backend can. */
function sha256At(
  crypto: CryptoBackend,
  parts: readonly Uint8Array[],
  out: Uint8Array,
  offset: number,
): void {
  if (crypto.sha256Into) crypto.sha256Into(parts, out, offset)
  else out.set(sha256Of(crypto, parts), offset)
}

/**
 * The digests of a batch's items, n × 32 bytes: digest_i = SHA-256(envelope tag ‖ item_i), the
 * SHA-256 of envelope i's signed bytes.
 */
export function batchDigests(crypto: CryptoBackend, items: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(items.length * 32)
  const parts = [CONTEXT.envelope, CONTEXT.envelope]
  for (let i = 0; i < items.length; i++) {
    parts[1] = items[i]!
    sha256At(crypto, parts, out, i * 32)
  }
  return out
}

const ITEM_LENGTH = new Uint8Array(4)
const ITEM_TIME = new Uint8Array(8)
const itemLength = new DataView(ITEM_LENGTH.buffer)
const itemTime = new DataView(ITEM_TIME.buffer)

/**
 * The digests of a batch's envelopes from their fields, n × 32 bytes: digest_i = SHA-256(envelope
 * tag ‖ u32 len(payload_i) ‖ payload_i ‖ recipient_i ‖ u64 timestamp_i), whatever form the batch
 * travels in.
 */
export function batchItemDigests(crypto: CryptoBackend, items: readonly BatchItem[]): Uint8Array {
  const out = new Uint8Array(items.length * 32)
  const parts = [CONTEXT.envelope, ITEM_LENGTH, ITEM_LENGTH, ITEM_LENGTH, ITEM_TIME]
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    itemLength.setUint32(0, it.payload.length)
    itemTime.setBigUint64(0, it.timestamp)
    parts[2] = it.payload
    parts[3] = it.recipient
    sha256At(crypto, parts, out, i * 32)
  }
  return out
}

/** Sign `message` without a promise when the backend can. */
export function signNow(
  crypto: CryptoBackend,
  key: SigningKey,
  message: Uint8Array,
): Uint8Array | Promise<Uint8Array> {
  return crypto.ed25519.signSync ? crypto.ed25519.signSync(key, message) : crypto.ed25519.sign(key, message)
}

/** Verify strictly without a promise when the backend can. */
export function verifyNow(
  crypto: CryptoBackend,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean | Promise<boolean> {
  return crypto.ed25519.verifySync
    ? crypto.ed25519.verifySync(publicKey, message, signature)
    : crypto.ed25519.verify(publicKey, message, signature)
}

/** Check a batch's signature over its digests. */
export function verifyBatch(
  crypto: CryptoBackend,
  from: Uint8Array,
  digests: Uint8Array,
  signature: Uint8Array,
): boolean | Promise<boolean> {
  return verifyNow(crypto, from, batchSignedBytes(digests), signature)
}
