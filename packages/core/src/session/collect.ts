/**
 * Waiting on a session's inbox (DESIGN "Sessions and inboxes"): one message from each of some
 * participants in a round, until the round's deadline (which aborts the session naming who was
 * silent), an explicit timeout (which does not), or the caller's signal. A message that
 * arrives after the wait ended stays for the next receive; one handed over is journaled first.
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import type { Journal } from './journal.ts'
import type { SessionState } from './session-state.ts'
import type { ReceiveOptions } from './types.ts'

/** Kind of a message when the caller names none. */
export const DEFAULT_KIND = 'msg'

/** What a wait needs of the host. */
export interface CollectDeps {
  now: () => number
  journal: Journal
  abortWith(s: SessionState, err: ConclaveError, silent: PartyId[]): Promise<void>
}

/** One message from each of `from` in `round` of `s` (arguments already checked). */
export function collectFrom(
  deps: CollectDeps,
  s: SessionState,
  from: readonly PartyId[],
  round: number,
  options: ReceiveOptions,
): Promise<Map<PartyId, Uint8Array>> {
  const kind = options.kind ?? DEFAULT_KIND
  const broadcast = options.broadcast ?? false
  const got = new Map<PartyId, Uint8Array>()
  const keys = from.map((f) => ({ from: f, round, kind, broadcast }))
  const takes: ReturnType<typeof s.inbox.take>[] = []
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (e?: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      if (e === undefined) resolve(got)
      else {
        for (const [i, k] of keys.entries()) if (!got.has(k.from)) takes[i]?.cancel(e)
        reject(e)
      }
    }
    const explicit = options.timeoutMs !== undefined
    const ms = explicit ? options.timeoutMs! : Math.max(0, s.deadline(round) - deps.now())
    const timer = setTimeout(() => {
      const silent = from.filter((f) => !got.has(f))
      const err = new ConclaveError(
        'ROUND_TIMEOUT',
        `round ${round}: no message from ${silent.length} part${silent.length === 1 ? 'y' : 'ies'}`,
        { round, silent },
      )
      finish(err)
      if (!explicit) void deps.abortWith(s, err, silent)
    }, ms)
    const onAbort = (): void => finish(new ConclaveError('ABORTED', 'receive aborted by its signal'))
    if (options.signal?.aborted) return onAbort()
    options.signal?.addEventListener('abort', onAbort)
    for (const k of keys) {
      const t = s.inbox.take(k)
      takes.push(t)
      t.then(
        (body) => {
          if (settled) {
            s.inbox.putBack(k, body) // the wait ended first: the message stays for the next receive
            return
          }
          // journaled before the application sees it: after a restart it is not offered again
          deps.journal.take(s.id, k)
          got.set(k.from, body)
          if (got.size === keys.length) finish()
        },
        (e: unknown) => finish(e),
      )
    }
  })
}
