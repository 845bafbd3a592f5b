/**
 * ChaCha20-Poly1305 (RFC 8439) from node:crypto: the AEAD for Node entry points. Import it only
 * from Node code (`index.node.ts`, node-party, tests); browsers use `nobleAead`.
 * @module
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { ConclaveError } from '../errors.ts'
import { assertAeadArguments } from './aead.ts'
import type { Aead } from './types.ts'

const ALGORITHM = 'chacha20-poly1305'
const TAG_LENGTH = 16

/**
 * Copy Buffer parts into one plain Uint8Array after `reserve` zero bytes (Buffers may share a
 * pooled ArrayBuffer).
 */
function join(reserve: number, ...parts: Uint8Array[]): Uint8Array {
  let length = reserve
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = reserve
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** `b` as a plain Uint8Array without a copy when it alone owns its ArrayBuffer (not pooled). */
function own(b: Buffer): Uint8Array | undefined {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
    ? new Uint8Array(b.buffer, 0, b.byteLength)
    : undefined
}

/**
 * ChaCha20-Poly1305 on node:crypto (OpenSSL), with a new cipher object per call. Same bytes as
 * `nobleAead`: either can open what the other sealed.
 *
 * @example
 * ```ts
 * const backend = createWebCryptoBackend({ aead: nodeAead })
 * ```
 */
export const nodeAead: Aead = {
  name: 'node',
  seal(key, nonce, aad, plaintext, reserve = 0) {
    assertAeadArguments(key, nonce, aad, plaintext, 'plaintext')
    const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_LENGTH })
    cipher.setAAD(aad, { plaintextLength: plaintext.length })
    const body = cipher.update(plaintext)
    const tail = cipher.final()
    return join(reserve, body, tail, cipher.getAuthTag())
  },
  open(key, nonce, aad, ciphertext) {
    assertAeadArguments(key, nonce, aad, ciphertext, 'ciphertext')
    if (ciphertext.length < TAG_LENGTH) {
      throw new ConclaveError('FRAME_DECRYPT_FAILED', `ciphertext shorter than the ${TAG_LENGTH}-byte tag`)
    }
    const bodyLength = ciphertext.length - TAG_LENGTH
    try {
      const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_LENGTH })
      decipher.setAuthTag(ciphertext.subarray(bodyLength))
      decipher.setAAD(aad, { plaintextLength: bodyLength })
      const body = decipher.update(ciphertext.subarray(0, bodyLength))
      const tail = decipher.final()
      // ChaCha20 is a stream cipher: `final` adds nothing, and a large `update` owns its memory
      return (tail.length === 0 ? own(body) : undefined) ?? join(0, body, tail)
    } catch (cause) {
      throw new ConclaveError('FRAME_DECRYPT_FAILED', 'ChaCha20-Poly1305 tag does not verify', {}, { cause })
    }
  },
}
