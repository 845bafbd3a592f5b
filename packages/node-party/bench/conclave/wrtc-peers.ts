/**
 * The wrtc peers of the bench's Conclave party: simple-peer on @roamhq/wrtc, each one tracked so
 * that the bench can read the data channel's `bufferedAmount` (Conclave exposes no backpressure
 * to the application), time wrtc's `send()`, and close every RTCPeerConnection at the end.
 * @module
 */
import { createRequire } from 'node:module'
import type { SimplePeerConstructor, SimplePeerInstance } from '@conclave/core/transport'
import { now } from '../child-io.ts'

const require = createRequire(import.meta.url)
/** @roamhq/wrtc (RTCPeerConnection and friends for simple-peer). */
export const wrtc = require('@roamhq/wrtc') as unknown
const SimplePeer = require('simple-peer') as SimplePeerConstructor

/**
 * Every simple-peer the transport creates, so that the bench can read the data channel's
 * `bufferedAmount` (Conclave exposes no backpressure to the application) and close every
 * RTCPeerConnection at the end whatever state it is in.
 */
export const peers = new Set<SimplePeerInstance>()
/** When the last frame entered wrtc's `send()`, how long that call blocked, when the last frame arrived. */
export const trace = { lastSendAt: 0, lastSendMs: 0, lastDataAt: 0 }
/** simple-peer, each instance tracked in {@link peers} and timed in {@link trace}. */
export const TrackedSimplePeer = function TrackedSimplePeer(
  opts: ConstructorParameters<SimplePeerConstructor>[0],
) {
  const sp = new SimplePeer(opts)
  peers.add(sp)
  // timestamps only: registered before the transport's own listener, so they see a frame first
  sp.on('data', () => {
    trace.lastDataAt = now()
  })
  const send = sp.send.bind(sp)
  sp.send = (data: Uint8Array) => {
    trace.lastSendAt = now()
    send(data)
    trace.lastSendMs = now() - trace.lastSendAt
  }
  return sp
} as unknown as SimplePeerConstructor

/** Bytes queued in wrtc on every open data channel of this party. */
export function bufferedAmount(): number {
  let total = 0
  for (const sp of peers) {
    if (sp.destroyed) {
      peers.delete(sp)
      continue
    }
    total += sp._channel?.bufferedAmount ?? 0
  }
  return total
}

/** Destroy every tracked peer and close its RTCPeerConnection, whatever state it is in. */
export function closeAllPeers(): void {
  for (const sp of peers) {
    const pc = sp._pc
    try {
      sp.destroy()
    } catch {
      // already destroyed
    }
    try {
      pc?.close()
    } catch {
      // already closed
    }
  }
  peers.clear()
}
