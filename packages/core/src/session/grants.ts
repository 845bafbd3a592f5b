/**
 * Checking session grants, and the seam that remembers which grantIds were used (a grantId is
 * accepted once, across restarts when the store is persistent).
 * @module
 */
import { fromHex } from '../bytes.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError, errorCode } from '../errors.ts'
import type { PartyId, SessionId } from '../ids.ts'
import { decodeGrant, type Grant, grantSignedBytes } from '../wire/grant.ts'

/** Remembers used grantIds (types-only seam; memory by default, a file in Node). */
export interface GrantStore {
  has(grantId: string): boolean
  /** Record a grantId as used until `expiresAt` (after which it can be forgotten). */
  add(grantId: string, expiresAt: number): void
}

/** An in-memory grant store (forgets on restart). */
export function createMemoryGrantStore(): GrantStore {
  const seen = new Map<string, number>()
  return {
    has: (id) => seen.has(id),
    add: (id, expiresAt) => {
      seen.set(id, expiresAt)
    },
  }
}

/** What a grant must match. */
export interface GrantCheck {
  sessionId: SessionId
  participants: readonly PartyId[]
  self: PartyId
  issuers: ReadonlySet<PartyId>
  store: GrantStore
  now: number
}

/**
 * Check a grant for a session.
 * @throws ConclaveError `GRANT_INVALID` (malformed, bad signature, another session or other
 *   participants, this party not named), `GRANT_UNTRUSTED` (issuer not in the roster),
 *   `GRANT_EXPIRED`, `GRANT_REPLAYED`
 */
export async function checkGrant(crypto: CryptoBackend, bytes: Uint8Array, c: GrantCheck): Promise<Grant> {
  let g: Grant
  try {
    g = decodeGrant(bytes)
  } catch (e) {
    throw new ConclaveError('GRANT_INVALID', `undecodable grant (${errorCode(e)})`)
  }
  if (!c.issuers.has(g.issuer)) {
    throw new ConclaveError(
      'GRANT_UNTRUSTED',
      `grant issuer ${g.issuer.slice(0, 16)}… is not in the roster`,
      { issuer: g.issuer },
    )
  }
  const ok = await crypto.ed25519.verify(fromHex(g.issuer), grantSignedBytes(g.body), g.signature)
  if (!ok) throw new ConclaveError('GRANT_INVALID', 'grant signature does not verify', { issuer: g.issuer })
  if (g.sessionId !== c.sessionId) throw new ConclaveError('GRANT_INVALID', 'grant is for another session')
  const want = [...c.participants].sort()
  const got = [...g.participants].sort()
  if (want.length !== got.length || want.some((p, i) => p !== got[i])) {
    throw new ConclaveError('GRANT_INVALID', 'grant names other participants')
  }
  if (!got.includes(c.self)) throw new ConclaveError('GRANT_INVALID', 'grant does not name this party')
  if (g.expiresAt <= c.now) {
    throw new ConclaveError('GRANT_EXPIRED', `grant expired ${c.now - g.expiresAt} ms ago`, {
      grantId: g.grantId,
    })
  }
  if (c.store.has(g.grantId))
    throw new ConclaveError('GRANT_REPLAYED', `grant ${g.grantId} was used before`, { grantId: g.grantId })
  return g
}
