/**
 * The ids of the sessions this party has run, in a bounded file, so that a restarted party
 * refuses to run one again (#16 item 6): one session id a line, appended as each run starts; the
 * file is rewritten with the newest `max` ids when it holds twice as many.
 * @module
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'

/** The session ids already run. */
export interface FinishedSessions {
  has(sessionId: string): boolean
  add(sessionId: string): void
}

/** A {@link FinishedSessions} in the file at `path` (mode 0600), keeping the newest `max` ids. */
export function createFinishedSessionsFile(path: string, max = 10_000): FinishedSessions {
  let ids = existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
    : []
  const seen = new Set(ids)
  return {
    has: (id) => seen.has(id),
    add(id) {
      if (seen.has(id)) return
      seen.add(id)
      ids.push(id)
      if (ids.length >= 2 * max) {
        for (const old of ids.slice(0, ids.length - max)) seen.delete(old)
        ids = ids.slice(-max)
        writeFileSync(path, `${ids.join('\n')}\n`, { mode: 0o600 })
      } else appendFileSync(path, `${id}\n`, { mode: 0o600 })
    },
  }
}
