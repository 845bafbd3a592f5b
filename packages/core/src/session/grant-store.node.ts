/**
 * A grant store in a file (Node): one JSON line per used grantId, so a grantId stays spent
 * across restarts. Writes are synchronous and appended before the session opens.
 * @module
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { ConclaveError } from '../errors.ts'
import type { GrantStore } from './grants.ts'

/** A file-backed grant store at `path` (created with mode 0600 when missing). */
export function createFileGrantStore(path: string, now: () => number = Date.now): GrantStore {
  const seen = new Map<string, number>()
  if (existsSync(path)) {
    for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
      if (!line.trim()) continue
      try {
        const e = JSON.parse(line) as { grantId: string; expiresAt: number }
        if (typeof e.grantId === 'string' && typeof e.expiresAt === 'number') seen.set(e.grantId, e.expiresAt)
      } catch {
        throw new ConclaveError('INVALID_ARGUMENT', `grant store ${path}: line ${i + 1} is not JSON`)
      }
    }
  }
  return {
    has: (id) => seen.has(id),
    add: (id, expiresAt) => {
      seen.set(id, expiresAt)
      appendFileSync(path, `${JSON.stringify({ grantId: id, expiresAt, usedAt: now() })}\n`, { mode: 0o600 })
    },
  }
}
