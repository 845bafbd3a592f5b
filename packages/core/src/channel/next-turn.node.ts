/**
 * Node's next turn: `setImmediate`, cheaper than a MessageChannel message. Node entries pass
 * it as the channel's and the host's `nextTurn` (see `next-turn.ts`).
 * @module
 */
import type { NextTurn } from './next-turn.ts'

/** Run `fn` on the next turn of Node's event loop (`setImmediate`). */
export const setImmediateTurn: NextTurn = (fn) => {
  setImmediate(fn)
}
