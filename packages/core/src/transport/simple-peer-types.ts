/**
 * The slice of simple-peer 9.11 that the webrtc transport uses (types only). simple-peer is
 * passed in (`createWebRtcTransport({ SimplePeer })`): Node passes the package, browsers its
 * prebuilt bundle, so no Node built-ins need polyfilling here.
 * @module
 */

/** A simple-peer signal object (offer, answer, candidate, renegotiate …). */
export interface SimplePeerSignal {
  type?: string
  sdp?: string
  candidate?: { candidate: string; sdpMLineIndex?: number | null; sdpMid?: string | null }
  renegotiate?: boolean
  transceiverRequest?: unknown
}

/** Options simple-peer takes. */
export interface SimplePeerOptions {
  initiator: boolean
  channelConfig: RTCDataChannelInit
  config: RTCConfiguration
  trickle: boolean
  wrtc?: unknown
  allowHalfTrickle?: boolean
  /** Deliver text messages as strings rather than Buffers (binary ones stay Uint8Arrays). */
  objectMode?: boolean
}

/** One simple-peer instance. */
export interface SimplePeerInstance {
  signal(data: SimplePeerSignal): void
  send(data: Uint8Array | string): void
  destroy(err?: Error): void
  on(event: 'signal', fn: (data: SimplePeerSignal) => void): this
  on(event: 'connect', fn: () => void): this
  /** Every message, without `objectMode`. */
  on(event: 'data', fn: (data: Uint8Array) => void): this
  /** With `objectMode`, text messages arrive as strings. */
  on(event: 'data', fn: (data: Uint8Array | string) => void): this
  on(event: 'close', fn: () => void): this
  on(event: 'error', fn: (err: Error & { code?: string }) => void): this
  readonly destroyed: boolean
  readonly connected: boolean
  /** The RTCPeerConnection (simple-peer's internal, stable across 9.x). */
  readonly _pc: RTCPeerConnection | null
  /** The data channel (simple-peer's internal). */
  readonly _channel: RTCDataChannel | null
}

/** The simple-peer constructor. */
export type SimplePeerConstructor = new (opts: SimplePeerOptions) => SimplePeerInstance
