/**
 * The platform's path hints, wired to a room party (DESIGN "Connections"): while the party is
 * started, a platform source (Node: `network-watch.node.ts`; browsers: `page-lifecycle.ts`)
 * tells its transport that paths may be gone (`Transport.pathHint`), so that links that lost
 * theirs are replaced now and pending backoffs are cut short.
 * @module
 */
import type { PathHint } from '../transport/types.ts'
import type { RoomParty } from './types.ts'

/** A source of path hints: starts watching, calls `hint` on each one, returns its stop function. */
export type PathHintSource = (hint: (h: PathHint) => void) => () => void

/**
 * `room`, with `source` watched from a successful `start()` until `stop()`; each hint goes to
 * the room's transport. Without a source (turned off), `room` itself.
 */
export function withPathHints(room: RoomParty, source: PathHintSource | undefined): RoomParty {
  if (!source) return room
  let unwatch: (() => void) | undefined
  let stopped = false
  return {
    party: room.party,
    signaling: room.signaling,
    transport: room.transport,
    hostKind: room.hostKind,
    host: room.host,
    restored: () => room.restored(),
    async start(options) {
      await room.start(options)
      if (!stopped && !unwatch) unwatch = source((h) => room.transport.pathHint?.(h))
    },
    stop() {
      stopped = true
      unwatch?.()
      unwatch = undefined
      return room.stop()
    },
  }
}
