/**
 * ChaCha20-Poly1305 (RFC 8439) from @noble/ciphers: the AEAD for browsers and Workers. Node entry
 * points pass `nodeAead` from `aead.node.ts` instead (about ten times faster).
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { assertBytes } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import type { Aead } from './types.ts'

/** Poly1305 tag length in bytes. */
const TAG_LENGTH = 16

/**
 * Check the arguments every {@link Aead} method takes.
 * @throws ConclaveError `INVALID_ARGUMENT` naming the argument, e.g. `"nonce" expected 12 bytes, got 8`.
 */
export function assertAeadArguments(
  key: unknown,
  nonce: unknown,
  aad: unknown,
  data: unknown,
  dataName: string,
): void {
  assertBytes('key', key, 32)
  assertBytes('nonce', nonce, 12)
  assertBytes('aad', aad)
  assertBytes(dataName, data)
}

/**
 * ChaCha20-Poly1305 on @noble/ciphers, with a new cipher instance per call (a noble cipher
 * instance must not be reused).
 *
 * @example
 * ```ts
 * const sealed = nobleAead.seal(key, nonce, aad, plaintext) // ciphertext ‖ 16-byte tag
 * const opened = nobleAead.open(key, nonce, aad, sealed)
 * ```
 */
export const nobleAead: Aead = {
  name: 'noble',
  seal(key, nonce, aad, plaintext, reserve = 0) {
    assertAeadArguments(key, nonce, aad, plaintext, 'plaintext')
    if (reserve === 0) return chacha20poly1305(key, nonce, aad).encrypt(plaintext)
    const out = new Uint8Array(reserve + plaintext.length + TAG_LENGTH)
    chacha20poly1305(key, nonce, aad).encrypt(plaintext, out.subarray(reserve))
    return out
  },
  open(key, nonce, aad, ciphertext) {
    assertAeadArguments(key, nonce, aad, ciphertext, 'ciphertext')
    if (ciphertext.length < TAG_LENGTH) {
      throw new ConclaveError('FRAME_DECRYPT_FAILED', `ciphertext shorter than the ${TAG_LENGTH}-byte tag`)
    }
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(ciphertext)
    } catch (cause) {
      throw new ConclaveError('FRAME_DECRYPT_FAILED', 'ChaCha20-Poly1305 tag does not verify', {}, { cause })
    }
  },
}
