/**
 * The operator token that guards the registry listing (`GET /registry/nodes`): a bearer token
 * from `--registry-token` / `CONCLAVE_SIGNAL_REGISTRY_TOKEN`, compared in constant time.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/** What an `Authorization` header was found to hold. */
export type TokenCheck = 'ok' | 'missing' | 'wrong'

/**
 * Check `Authorization: Bearer <token>` headers against `token`.
 *
 * Both sides are hashed (SHA-256) before `timingSafeEqual`, so the comparison takes the same time
 * whatever the presented token's length and content: it tells an attacker nothing but "wrong".
 */
export function createTokenCheck(token: string): (authorization: string | undefined) => TokenCheck {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()
  const expected = digest(token)
  return (authorization) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')
    if (!match) return 'missing'
    return timingSafeEqual(digest(match[1] as string), expected) ? 'ok' : 'wrong'
  }
}
