/**
 * Defaults of DESIGN ("Defaults"), all configurable through `createParty({ limits })`, and the
 * one check of a set of limits ({@link resolveLimits}).
 * @module
 */
import { DEFAULT_REKEY_AFTER_FRAMES, DEFAULT_REKEY_AFTER_MS } from '../channel/secure-channel.ts'
import { ConclaveError } from '../errors.ts'

const MiB = 1024 * 1024

/** Tunable limits and timeouts of a party. */
export interface Limits {
  /** Allowed clock skew at a stream's first message (ms). @default 30000 */
  skewMs: number
  /** Timeout of each round (ms); deadlines are cumulative from the session's opening. @default 30000 */
  roundTimeoutMs: number
  /** How many rounds ahead of the current one a message may be. @default 32 */
  futureRoundWindow: number
  /** How long messages of a session not opened yet are held (ms). @default 60000 */
  unknownSessionHoldMs: number
  /** At most this many unknown sessions are held, all senders together. @default 1000 */
  unknownSessionMaxSessions: number
  /**
   * At most this many unknown sessions are held for one sender, and this many proposals from one
   * proposer are pending: checked before the overall caps, so one sender never fills them.
   * @default 100
   */
  unknownSessionMaxSessionsPerSender: number
  /**
   * Bytes held for one sender for sessions not opened here: its early units and its pending
   * proposals together. Past it they are dropped without penalty. @default 8 MiB
   */
  unknownSessionMaxBytesPerSender: number
  /** Bytes held for sessions not opened here, all senders together (as above). @default 64 MiB */
  unknownSessionMaxBytes: number
  /** Unconsumed messages per sender per session. @default 1000 */
  inboxPerSender: number
  /**
   * Bytes of unconsumed message bodies one sender has in this party's inboxes, all sessions
   * together; past it the sender's stream waits, as for `inboxPerSender`. At least
   * `maxMessageBytes`. @default 64 MiB
   */
  inboxBytesPerSender: number
  /** Bytes of unconsumed message bodies of all senders together (as above). @default 128 MiB */
  inboxBytesTotal: number
  /**
   * Bytes of signed broadcast units kept for one sender for the echo step of consistent
   * broadcast (the first of each round and kind), all sessions together, until each session
   * ends. Past it a unit is still delivered but not kept (a drop without penalty), and a
   * consistent collect of its round aborts the session. @default 32 MiB
   */
  keptBroadcastBytesPerSender: number
  /** Bytes of such units of all senders together (as above). @default 64 MiB */
  keptBroadcastBytesTotal: number
  /** Largest envelope body (bytes). @default 16 MiB */
  maxMessageBytes: number
  /**
   * Reassembly memory per peer, all its links together (bytes): a chunked unit declaring more is
   * refused (`REASSEMBLY_OVER_CAP`, a fault). @default 16 MiB + 1 KiB (one max message and its envelope)
   */
  maxReassemblyBytes: number
  /**
   * Reassembly memory of all peers together: a chunked unit that would go past it closes its
   * link without penalty (`MEMORY_BUDGET_FULL`); unacknowledged, it is sent again on the next.
   * @default 64 MiB
   */
  maxReassemblyBytesTotal: number
  /** Each handshake step (ms). @default 2000 */
  handshakeTimeoutMs: number
  /** Units kept per peer until it acknowledges them (retransmit buffer). @default 10000 */
  maxUnackedPerPeer: number
  /** Bytes kept per peer until it acknowledges them. @default 64 MiB */
  maxUnackedBytesPerPeer: number
  /**
   * Units received from a peer and not yet processed (waiting for its inbox to have room, or
   * behind a throttle), at most; past it the peer is cut off (`PEER_BANNED`). A sender never
   * has more in flight than its own retransmit buffer, so a peer whose `maxUnackedPerPeer` is
   * not above this is never cut off by it. @default 10000
   */
  maxUnprocessedPerPeer: number
  /** Bytes of such units, at most (as `maxUnprocessedPerPeer`). @default 64 MiB + 1 MiB */
  maxUnprocessedBytesPerPeer: number
  /**
   * Bytes of such units of all peers together: a unit that would go past it closes its link
   * without penalty (`MEMORY_BUDGET_FULL`) before it is numbered, so it is sent again on the
   * next link. @default 128 MiB
   */
  maxUnprocessedBytesTotal: number
  /**
   * Units per second a peer may send (token bucket rate). A batch is one unit: its signature is
   * checked once, and its bytes count against `peerBytesPerSecond`. @default 5000
   */
  peerMessagesPerSecond: number
  /** Bytes per second a peer may send. @default 128 MiB */
  peerBytesPerSecond: number
  /** Bucket size, in seconds of the rates above. @default 2 */
  peerBurstSeconds: number
  /** How long a peer may stay over its rates (throttled) before it is cut off (ms). @default 3000 */
  throttleGraceMs: number
  /** Penalty score at which a peer is cut off; invalid input adds to it, and it halves every minute. @default 100 */
  penaltyThreshold: number
  /** How long a cut-off peer is refused (ms). @default 60000 */
  banMs: number
  /** Most peers with a link at once; more are refused at the handshake. @default 256 */
  maxPeers: number
  /** Keepalive ping period on a ready link (ms). @default 5000 */
  keepaliveMs: number
  /** A ready link with no frame for this long is lost (ms). @default 15000 */
  lostAfterMs: number
  /**
   * Most direct envelopes to one peer signed together as one batch when sends queue up
   * (DESIGN "Envelope"); 1 signs every envelope alone. @default 256
   */
  maxBatchUnits: number
  /** A batch closes before its payloads pass this many bytes. @default 1 MiB */
  maxBatchBytes: number
  /**
   * What was processed from a peer is acknowledged at most this long after (ms), or at once in
   * the frame of a unit going to that peer anyway. Each ack of its own costs a data channel
   * send (~0.1–1 ms of a blocked thread in wrtc). @default 25
   */
  ackDelayMs: number
  /**
   * An ack goes at once, not `ackDelayMs` later, when this many bytes of units were processed
   * from a peer since the last one: a large stream's sender frees its retransmit buffer about a
   * round trip after sending, not an ack delay later (what it holds that long outlives the
   * young generation, and only a full garbage collection frees it). @default 512 KiB
   */
  ackAfterBytes: number
  // ── re-keying (DESIGN "Frames"): a link past either bound is closed with REKEY_DUE and re-made
  /**
   * Frames sent, or received, on one link (under one pair of keys) after which it is closed
   * with `REKEY_DUE` and re-made with a fresh handshake: an integer from 16 to 2⁵³ − 1.
   * @default 2³²
   */
  rekeyAfterFrames: number
  /**
   * Age of a link's keys (ms since its handshake) after which it is closed with `REKEY_DUE`
   * and re-made, checked as it sends or receives a frame (its keepalive makes one every
   * `keepaliveMs`): an integer from 100 to 2⁵³ − 1. @default 24 h
   */
  rekeyAfterMs: number
}

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  skewMs: 30_000,
  roundTimeoutMs: 30_000,
  futureRoundWindow: 32,
  unknownSessionHoldMs: 60_000,
  unknownSessionMaxSessions: 1000,
  unknownSessionMaxSessionsPerSender: 100,
  unknownSessionMaxBytesPerSender: 8 * MiB,
  unknownSessionMaxBytes: 64 * MiB,
  inboxPerSender: 1000,
  inboxBytesPerSender: 64 * MiB,
  inboxBytesTotal: 128 * MiB,
  keptBroadcastBytesPerSender: 32 * MiB,
  keptBroadcastBytesTotal: 64 * MiB,
  maxMessageBytes: 16 * MiB,
  maxReassemblyBytes: 16 * MiB + 1024,
  maxReassemblyBytesTotal: 64 * MiB,
  handshakeTimeoutMs: 2000,
  maxUnackedPerPeer: 10_000,
  maxUnackedBytesPerPeer: 64 * 1024 * 1024,
  maxUnprocessedPerPeer: 10_000,
  maxUnprocessedBytesPerPeer: 65 * MiB,
  maxUnprocessedBytesTotal: 128 * MiB,
  peerMessagesPerSecond: 5000,
  peerBytesPerSecond: 128 * 1024 * 1024,
  peerBurstSeconds: 2,
  throttleGraceMs: 3000,
  penaltyThreshold: 100,
  banMs: 60_000,
  maxPeers: 256,
  keepaliveMs: 5000,
  lostAfterMs: 15_000,
  maxBatchUnits: 256,
  maxBatchBytes: 1024 * 1024,
  ackDelayMs: 25,
  ackAfterBytes: 512 * 1024,
  rekeyAfterFrames: Number(DEFAULT_REKEY_AFTER_FRAMES),
  rekeyAfterMs: DEFAULT_REKEY_AFTER_MS,
})

/** Least value of each re-key bound: a link re-made after a few frames or ms does little else. */
const REKEY_FLOORS = { rekeyAfterFrames: 16, rekeyAfterMs: 100 } as const

/** Byte budgets as (one sender's share, all senders' total): the share may not exceed the total. */
const SHARES: readonly (readonly [keyof Limits, keyof Limits])[] = [
  ['unknownSessionMaxBytesPerSender', 'unknownSessionMaxBytes'],
  ['inboxBytesPerSender', 'inboxBytesTotal'],
  ['keptBroadcastBytesPerSender', 'keptBroadcastBytesTotal'],
  ['maxReassemblyBytes', 'maxReassemblyBytesTotal'],
  ['maxUnprocessedBytesPerPeer', 'maxUnprocessedBytesTotal'],
]

/**
 * Merge overrides into the defaults, checking each, and the byte budgets against each other:
 * one sender's share fits the total (else "per sender first" would mean nothing), and the
 * largest message fits a sender's inbox share (else its stream would wait forever).
 * @throws ConclaveError `INVALID_ARGUMENT` for an unknown limit or a value not a finite number ≥ 0,
 *   `LIMIT_INCONSISTENT` for budgets that contradict each other (`details.limits` names them)
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  if (overrides === null || typeof overrides !== 'object')
    throw new ConclaveError('INVALID_ARGUMENT', `"limits" expected an object, got ${String(overrides)}`)
  const out: Limits = { ...DEFAULT_LIMITS }
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in DEFAULT_LIMITS))
      throw new ConclaveError('INVALID_ARGUMENT', `unknown limit "${k}"`, { limit: k })
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ConclaveError('INVALID_ARGUMENT', `limit "${k}" expected a number ≥ 0, got ${String(v)}`, {
        limit: k,
      })
    out[k as keyof Limits] = v
  }
  const inconsistent = (a: keyof Limits, rel: string, b: keyof Limits): never => {
    throw new ConclaveError(
      'LIMIT_INCONSISTENT',
      `limit "${a}" (${out[a]}) expected ${rel} "${b}" (${out[b]}): set both`,
      { limits: [a, b] },
    )
  }
  for (const [share, total] of SHARES) if (out[share] > out[total]) inconsistent(share, 'at most', total)
  if (out.inboxBytesPerSender < out.maxMessageBytes)
    inconsistent('inboxBytesPerSender', 'at least', 'maxMessageBytes')
  for (const [k, floor] of Object.entries(REKEY_FLOORS)) {
    const v = out[k as keyof typeof REKEY_FLOORS]
    if (!Number.isSafeInteger(v) || v < floor)
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `limit "${k}" expected an integer from ${floor} to 2^53 - 1, got ${v}`,
      )
  }
  return out
}
