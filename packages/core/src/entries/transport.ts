/**
 * `@conclave/core/transport`: how links are made, for an assembly of your own (`createParty`)
 * or a transport of your own: the `Transport` / `Link` seam, the WebRTC transport (simple-peer,
 * SDP helpers), the relay transport (frames through the signaling server), the hybrid of the two,
 * the in-memory network for tests, and the dial policy, backoff and pacing they share. Node's
 * simple-peer and @roamhq/wrtc loaders are in `@conclave/core/node`.
 * @packageDocumentation
 * @module @conclave/core/transport
 */

export { type BackoffOptions, backoffDelay } from '../backoff.ts'
export { Emitter } from '../events.ts'
export { TokenBucket, type TokenBucketOptions } from '../token-bucket.ts'
export type { DialPolicy } from '../transport/connection-manager.ts'
export {
  createHybridTransport,
  type HybridTransport,
  type HybridTransportOptions,
} from '../transport/hybrid.ts'
export {
  createMemoryNetwork,
  type InterceptedFrame,
  type Interceptor,
  MemoryNetwork,
} from '../transport/memory.ts'
export { isPathEvidence } from '../transport/path-evidence.ts'
export {
  createRelayTransport,
  type RelayPacing,
  type RelayTransport,
  type RelayTransportOptions,
} from '../transport/relay.ts'
export { fingerprintsFromSdp, linkMaxMessageSize, loopbackOnly } from '../transport/sdp.ts'
export type {
  SimplePeerConstructor,
  SimplePeerInstance,
  SimplePeerSignal,
} from '../transport/simple-peer-types.ts'
export type { Link, LinkState, LinkStateEvent, PathHint, Transport } from '../transport/types.ts'
export { createWebRtcTransport, type WebRtcTransportOptions } from '../transport/webrtc.ts'
