/**
 * The strict Ed25519 rule of DESIGN against `packages/core/test/vectors/ed25519.json` (RFC 8032,
 * "Taming the many EdDSAs"), on the platform it runs on: the browser's WebCrypto backend and the
 * noble backend. Used by the page test and, unchanged, inside a Web Worker.
 */
import { type CryptoBackend, errorCode, fromHex, toHex } from '@conclave/core'
import { createNobleBackend, createWebCryptoBackend } from '@conclave/core/crypto'
import vectors from '../../packages/core/test/vectors/ed25519.json'

/** One case of ed25519.json. */
export interface Ed25519Case {
  name: string
  secretKey?: string
  publicKey: string
  message: string
  signature: string
  valid: boolean
  error?: string
}

/** What a backend said about one case. */
export interface Verdict {
  backend: string
  name: string
  /** `verify(publicKey, message, signature)`. */
  verified: boolean
  /** The code `assertValidPublicKey` threw, if any. */
  keyError: string | undefined
  /** For cases with a seed: the public key and signature the backend derived. */
  publicKey?: string
  signature?: string
}

/** The cases of ed25519.json. */
export const cases: readonly Ed25519Case[] = (vectors as { cases: Ed25519Case[] }).cases

/** The backends checked here. */
export function backends(): CryptoBackend[] {
  return [createWebCryptoBackend(), createNobleBackend()]
}

/** Run every case on every backend. */
export async function runEd25519Vectors(): Promise<Verdict[]> {
  const out: Verdict[] = []
  for (const backend of backends()) {
    for (const c of cases) {
      const publicKey = fromHex(c.publicKey)
      const message = fromHex(c.message)
      let keyError: string | undefined
      try {
        backend.ed25519.assertValidPublicKey(publicKey)
      } catch (e) {
        keyError = errorCode(e) ?? `not a ConclaveError: ${String(e)}`
      }
      const verdict: Verdict = {
        backend: backend.name,
        name: c.name,
        verified: await backend.ed25519.verify(publicKey, message, fromHex(c.signature)),
        keyError,
      }
      if (c.secretKey !== undefined) {
        const key = await backend.ed25519.importSeed(fromHex(c.secretKey))
        verdict.publicKey = toHex(key.publicKey)
        verdict.signature = toHex(await backend.ed25519.sign(key, message))
      }
      out.push(verdict)
    }
  }
  return out
}
