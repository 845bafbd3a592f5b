/**
 * Identities: a party is its Ed25519 key pair, and its PartyId is the hex of the public key.
 * @module
 */
import { fromHex, toHex } from './bytes.ts'
import type { CryptoBackend, SigningKey } from './crypto/types.ts'
import { ConclaveError } from './errors.ts'
import { type PartyId, partyIdFromBytes } from './ids.ts'

/** An identity: the signing key and its id. */
export interface Identity {
  readonly id: PartyId
  readonly key: SigningKey
}

/** The portable form of an identity (what `conclave-party keygen` writes). */
export interface ExportedIdentity {
  version: 1
  /** PartyId (public key hex). */
  partyId: string
  /** 32-byte Ed25519 seed, hex. Secret. */
  seed: string
  label?: string
}

/**
 * A fresh identity.
 * @param options.extractable whether the seed may be exported later. @default false
 */
export async function generateIdentity(
  crypto: CryptoBackend,
  options: { extractable?: boolean } = {},
): Promise<Identity> {
  const key = await crypto.ed25519.generate({ extractable: options.extractable ?? false })
  return { id: partyIdFromBytes(key.publicKey), key }
}

/**
 * Export an identity's seed.
 * @throws ConclaveError `KEY_NOT_EXTRACTABLE`
 */
export async function exportIdentity(
  crypto: CryptoBackend,
  identity: Identity,
  label?: string,
): Promise<ExportedIdentity> {
  const seed = await crypto.ed25519.exportSeed(identity.key)
  return { version: 1, partyId: identity.id, seed: toHex(seed), ...(label !== undefined ? { label } : {}) }
}

/**
 * Import an exported identity, checking that the seed gives the stated PartyId.
 * @throws ConclaveError `INVALID_ARGUMENT` on a malformed object, `KEY_INVALID` on a mismatch
 */
export async function importIdentity(
  crypto: CryptoBackend,
  exported: unknown,
  options: { extractable?: boolean } = {},
): Promise<Identity> {
  const e = exported as Partial<ExportedIdentity> | null
  if (
    !e ||
    typeof e !== 'object' ||
    e.version !== 1 ||
    typeof e.seed !== 'string' ||
    typeof e.partyId !== 'string'
  ) {
    throw new ConclaveError('INVALID_ARGUMENT', 'identity expected { version: 1, partyId, seed }')
  }
  const seed = fromHex(e.seed)
  if (seed.length !== 32)
    throw new ConclaveError('INVALID_ARGUMENT', `"seed" expected 32 bytes, got ${seed.length}`)
  const key = await crypto.ed25519.importSeed(seed, { extractable: options.extractable ?? false })
  const id = partyIdFromBytes(key.publicKey)
  if (id !== e.partyId) throw new ConclaveError('KEY_INVALID', 'the seed does not give the stated partyId')
  return { id, key }
}
