/**
 * How a webrtc connection is closed without crashing @roamhq/wrtc (DESIGN "Connections").
 *
 * A link closed on purpose is closed in two steps: this end stops sending and sends a `close`
 * notice on the channel, the far end stops sending and closes the connection, and only then
 * (or after {@link CLOSE_GRACE_MS}) does this end close its own. Why: in @roamhq/wrtc, a
 * channel closed from the far end is torn down on wrtc's signaling thread while
 * `RTCDataChannel.send()` may be running on the JS thread, and `send()` then dereferences a
 * pointer that thread has just cleared (SIGSEGV in `node_webrtc::RTCDataChannel::Send`). A
 * channel must therefore never be closed under a peer that may still be sending on it.
 *
 * Every RTCPeerConnection is closed explicitly ({@link destroyPeer}): wrtc otherwise keeps Node
 * alive, or crashes when the connection is collected.
 * @module
 */
import { type ErrorCode, isErrorCode } from '../errors.ts'
import type { SimplePeerInstance } from './simple-peer-types.ts'

/**
 * How long a link closed on purpose keeps its connection open for the far end to stop sending
 * and close it, before this end closes it anyway.
 */
export const CLOSE_GRACE_MS = 3000
/** How long `stop()` waits for the far ends of its links to close them. */
export const STOP_GRACE_MS = 1000

/**
 * The in-band control messages of a link. They travel as text messages, and frames always as
 * binary ones, so no frame can be taken for one. Version 1 has one type, `close`: "I have
 * stopped sending on this channel; close the connection". It may name why (`code`, one of
 * `ERROR_CODES`; an older end sends none and ignores it): a link closed to be re-keyed
 * (`REKEY_DUE`) is then dialled again at once on both ends, even when the far end's host has not
 * yet read the close record that went before the notice (a Worker host reads it a few turns later).
 */
export type LinkControl = { v: 1; type: 'close'; code?: ErrorCode }

/** The `close` notice, as sent, naming why the link was closed when `code` is given. */
export function closeNotice(code?: ErrorCode): string {
  return JSON.stringify({ v: 1, type: 'close', ...(code ? { code } : {}) } satisfies LinkControl)
}

/** The control message a text message holds, if it is one this code knows. */
export function parseLinkControl(text: string): LinkControl | undefined {
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!m || typeof m !== 'object') return undefined
  const { v, type, code } = m as { v?: unknown; type?: unknown; code?: unknown }
  if (v !== 1 || type !== 'close') return undefined
  return isErrorCode(code) ? { v, type, code } : { v, type }
}

/**
 * Destroy a simple-peer, then make sure its RTCPeerConnection is closed (wrtc otherwise keeps
 * Node alive). simple-peer closes the data channel and then the connection in a microtask; the
 * connection is closed again only after that, never before: wrtc tears a channel down on its
 * signaling thread once its connection is closed, and `channel.close()` running on the JS
 * thread meanwhile would race it (as `send()` does, see the module comment).
 */
export function destroyPeer(sp: SimplePeerInstance): void {
  const pc = sp._pc
  try {
    sp.destroy()
  } catch {
    // already destroyed
  }
  if (!pc) return
  setTimeout(() => {
    try {
      pc.close()
    } catch {
      // already closed
    }
  }, 0)
}

/**
 * The connections of links closed on purpose, each kept open until the far end closes it (it
 * stops sending first) or its grace runs out.
 */
export class Retirements {
  private readonly closing = new Map<SimplePeerInstance, ReturnType<typeof setTimeout>>()

  /**
   * Stop sending on `sp`, ask the far end to close (telling it `code`, why), and close it when
   * it has (or in time).
   */
  retire(sp: SimplePeerInstance, code?: ErrorCode): void {
    try {
      sp.send(closeNotice(code))
    } catch {
      destroyPeer(sp) // the channel is gone already
      return
    }
    this.closing.set(
      sp,
      setTimeout(() => this.reap(sp), CLOSE_GRACE_MS),
    )
  }

  /** Close a retired connection (the far end closed it, or its grace ran out); no-op otherwise. */
  reap(sp: SimplePeerInstance): void {
    const timer = this.closing.get(sp)
    if (timer === undefined) return
    clearTimeout(timer)
    this.closing.delete(sp)
    destroyPeer(sp)
  }

  /** Give the far ends a moment ({@link STOP_GRACE_MS}) to close, then close the rest. */
  async drain(): Promise<void> {
    const end = Date.now() + STOP_GRACE_MS
    while (this.closing.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    for (const sp of [...this.closing.keys()]) this.reap(sp)
  }
}
