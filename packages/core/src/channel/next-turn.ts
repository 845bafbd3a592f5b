/**
 * The next turn of the event loop, as a seam: records queued in one burst (many sends whose
 * signatures resolve together) share a frame, and sends of one turn share a batch, when their
 * flush runs on the next turn, after the microtasks queuing them now. Passed in (the channel's
 * and the host's `nextTurn` option), never detected: the portable default here runs on a
 * MessageChannel (browsers, Workers and Node all have one; unthrottled, unlike setTimeout);
 * Node entries pass the faster `setImmediateTurn` of `next-turn.node.ts`.
 * @module
 */

/** Run `fn` on the next turn of the event loop. */
export type NextTurn = (fn: () => void) => void

/**
 * A {@link NextTurn} on its own MessageChannel, made on the first call (no work at import).
 * Callbacks run in call order, one per message.
 */
export function createMessageChannelTurn(): NextTurn {
  const queue: (() => void)[] = []
  let channel: MessageChannel | undefined
  return (fn) => {
    if (!channel) {
      channel = new MessageChannel()
      channel.port1.onmessage = () => queue.shift()?.()
      // Why: in Node a port with a listener keeps the process alive; a turn must not. Browsers'
      // ports have no `unref` and never keep anything alive.
      ;(channel.port1 as { unref?: () => void }).unref?.()
    }
    queue.push(fn)
    channel.port2.postMessage(0)
  }
}

/** The portable default: one MessageChannel turn shared by the thread's channels and host. */
export const messageChannelTurn: NextTurn = (() => {
  let turn: NextTurn | undefined
  return (fn: () => void) => {
    turn ??= createMessageChannelTurn()
    turn(fn)
  }
})()
