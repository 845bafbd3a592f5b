/**
 * The relay path's send queue and its pacer (DESIGN "Signaling server"): payloads wait here, in
 * order, and go to the socket below the server's per-socket limits (events and bytes per
 * second), so that a burst waits in the links' `bufferedAmount` instead of being refused with
 * `RATE_LIMITED` (which costs the link).
 * @module
 */
import type { PartyId } from '../ids.ts'
import type { SignalingClient } from '../signaling/client-types.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../signaling/validate.ts'
import { TokenBucket } from '../token-bucket.ts'
import { RELAY_HEADER_BYTES, type RelayKind } from '../wire/relay.ts'

const MIB = 1024 * 1024

/**
 * How fast the transport hands payloads to the socket. The server limits events and relay bytes
 * per socket (token buckets) and refuses the excess with `RATE_LIMITED`, which costs the link;
 * pacing below those limits keeps a burst waiting here instead.
 */
export interface RelayPacing {
  /** Sustained relay events per second. @default ¾ of the server's announced `eventsPerSecond` (75) */
  eventsPerSecond?: number
  /** Events sent at once before pacing starts. @default the server's announced `eventsPerSecond` (100) */
  eventBurst?: number
  /** Sustained relay bytes per second. @default 3 MiB (the server's default limit is 4 MiB/s) */
  bytesPerSecond?: number
  /** Bytes sent at once before pacing starts (at least one payload). @default 4 MiB */
  byteBurst?: number
}

/** The pacing in force: the options, and the server's announced limits for what they leave out. */
export function pacingFor(
  pacing: RelayPacing | undefined,
  limits: SignalingClient['limits'],
): Required<RelayPacing> {
  const p = pacing ?? {}
  const rate = limits?.eventsPerSecond ?? 100
  const max = limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  return {
    eventsPerSecond: p.eventsPerSecond ?? rate * 0.75,
    eventBurst: Math.max(1, p.eventBurst ?? rate),
    bytesPerSecond: p.bytesPerSecond ?? 3 * MIB,
    byteBurst: Math.max(max, p.byteBurst ?? 4 * MIB),
  }
}

/** Two token buckets (events and bytes) in front of the socket. */
export class RelayPacer {
  private events: TokenBucket | undefined
  private bytes: TokenBucket | undefined

  /** Ms to wait before a payload of `n` bytes may go (0: it was let through now). */
  take(n: number, p: Required<RelayPacing>): number {
    if (!this.events || !this.bytes) {
      this.events = new TokenBucket({ ratePerSecond: p.eventsPerSecond, capacity: p.eventBurst })
      this.bytes = new TokenBucket({ ratePerSecond: p.bytesPerSecond, capacity: p.byteBurst })
    } else {
      this.events.configure(p.eventsPerSecond, p.eventBurst)
      this.bytes.configure(p.bytesPerSecond, p.byteBurst)
    }
    // a payload over the byte burst goes once the bucket is full
    const need = Math.min(n, p.byteBurst)
    if (this.events.available >= 1 && this.bytes.available >= need) {
      this.events.take(1)
      this.bytes.take(need)
      return 0
    }
    return Math.max(1, Math.ceil(Math.max(this.events.msUntil(1), this.bytes.msUntil(need))))
  }
}

/** One payload waiting for the socket. */
export interface Outgoing {
  peer: PartyId
  kind: RelayKind
  generation: number
  payload: Uint8Array
  /** The link whose frame this is (its bytes count in its `bufferedAmount`), if any. */
  link: { queued: number } | undefined
  /** Called when the client could not send it. */
  failed: (() => void) | undefined
}

/** Settings of a {@link RelaySendQueue}. */
export interface RelaySendQueueOptions {
  signaling: Pick<SignalingClient, 'relay' | 'limits'>
  room: string
  /** Pacing, or `false` to hand every payload to the socket at once. */
  pacing: RelayPacing | false | undefined
  /** Whether the transport runs (nothing is sent otherwise). */
  running: () => boolean
}

/** The ordered queue of relay payloads, sent as the pacer allows. */
export class RelaySendQueue {
  private queue: Outgoing[] = []
  private pumpScheduled = false
  private pumpTimer: ReturnType<typeof setTimeout> | undefined
  private readonly pacer = new RelayPacer()

  constructor(private readonly o: RelaySendQueueOptions) {}

  /** Queue `item` (its link's `queued` already counts its frame bytes). */
  push(item: Outgoing): void {
    this.queue.push(item)
    this.schedule()
  }

  /** Drop what waits and matches `drop` (e.g. the frames of a link that ended). */
  remove(drop: (item: Outgoing) => boolean): void {
    this.queue = this.queue.filter((o) => !drop(o))
  }

  /** Drop everything and stop the timer. */
  clear(): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer)
    this.pumpTimer = undefined
    this.queue = []
  }

  private schedule(): void {
    if (this.pumpScheduled || this.pumpTimer) return
    this.pumpScheduled = true
    // out of the caller's stack: a failed send closes links, which must not happen inside send()
    queueMicrotask(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  private pump(): void {
    if (!this.o.running()) return
    const pacing = this.o.pacing === false ? undefined : pacingFor(this.o.pacing, this.o.signaling.limits)
    while (this.queue.length > 0) {
      const item = this.queue[0]!
      if (pacing) {
        const wait = this.pacer.take(item.payload.length, pacing)
        if (wait > 0) {
          this.pumpTimer = setTimeout(() => {
            this.pumpTimer = undefined
            this.pump()
          }, wait)
          return
        }
      }
      this.queue.shift()
      if (item.link)
        item.link.queued = Math.max(0, item.link.queued - (item.payload.length - RELAY_HEADER_BYTES))
      let sent: boolean
      try {
        sent = this.o.signaling.relay(this.o.room, item.peer, item.payload)
      } catch {
        sent = false // e.g. PAYLOAD_TOO_LARGE: the server now announces a smaller limit
      }
      if (!sent) item.failed?.()
    }
  }
}
