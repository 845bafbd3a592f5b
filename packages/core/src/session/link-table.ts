/**
 * The link table (DESIGN "Connections": keepalive, RTT, health, relink): the host's links by
 * id, each with its secure channel and what the host measures of it. The ready link of each
 * peer is on the peer's record (`peer-table.ts`). Nothing here opens a link: the connection
 * side does, when the host asks (`HostSink.requestLink`).
 * @module
 */
import { backoffDelay } from '../backoff.ts'
import type { HandshakeResult } from '../channel/handshake.ts'
import type { SecureChannel } from '../channel/secure-channel.ts'
import { RecordType } from '../wire/frame.ts'
import type { HostPeer } from './peer-table.ts'
import type { LinkInfo } from './types.ts'

/** What the host uses of a link's secure channel. */
export type LinkChannel = Pick<
  SecureChannel,
  'close' | 'sendRecord' | 'sendUnit' | 'flush' | 'receive' | 'start' | 'isClosed' | 'reassemblyBytes'
>

/** One link as the host keeps it (the transport's own link state is another thing). */
export interface HostLink {
  readonly info: LinkInfo
  readonly channel: LinkChannel
  /** The handshake's outcome, once the link is ready. */
  result: HandshakeResult | undefined
  /** When the link was opened, then when it became ready. */
  since: number
  /** When a frame last arrived on it. */
  lastHeard: number
  /** Smoothed round-trip time (ms), from keepalive pings. */
  rttMs: number | undefined
  /** Smoothed latency score in [0, 1]. */
  latencyScore: number
  /** Delivery number of the next unit arriving on this link (set by the peer's `resume`). */
  cursor: bigint | undefined
}

/** A new link whose channel is made by `channel` (which may keep the link for its callbacks). */
export function newHostLink(info: LinkInfo, now: number, channel: (link: HostLink) => LinkChannel): HostLink {
  const link = {
    info,
    channel: undefined as unknown as LinkChannel,
    result: undefined,
    since: now,
    lastHeard: now,
    rttMs: undefined,
    latencyScore: 1,
    cursor: undefined,
  }
  link.channel = channel(link)
  return link
}

/** The host's links by link id (handshaking and ready). */
export class LinkTable {
  private readonly links = new Map<string, HostLink>()

  /** Keep a link the connection side opened. */
  add(link: HostLink): void {
    this.links.set(link.info.linkId, link)
  }

  /** The link `linkId`, if the host still has it. */
  get(linkId: string): HostLink | undefined {
    return this.links.get(linkId)
  }

  /** Forget a link; whether it was still here. */
  delete(linkId: string): boolean {
    return this.links.delete(linkId)
  }

  /** A copy of the links (closing one removes it from the table). */
  list(): HostLink[] {
    return [...this.links.values()]
  }
}

/** Ping every ready link; close a link silent for `lostAfterMs` with `LINK_LOST`. */
export function keepalive(ready: Iterable<HostLink>, now: number, lostAfterMs: number): void {
  for (const l of ready) {
    if (now - l.lastHeard > lostAfterMs) {
      l.channel.close('LINK_LOST', `no traffic for ${now - l.lastHeard} ms`)
      continue
    }
    try {
      l.channel.sendRecord({ type: RecordType.ping, value: BigInt(Math.floor(now)) })
    } catch {
      // closing already
    }
  }
}

/** Take a pong's round trip into the link's RTT and latency score (EMA 0.2; 1 at 0 ms → 0 at 1 s). */
export function onPong(link: HostLink, pingClock: bigint, now: number): void {
  const rtt = now - Number(pingClock)
  if (rtt < 0 || rtt > 3_600_000) return
  link.rttMs = link.rttMs === undefined ? rtt : 0.8 * link.rttMs + 0.2 * rtt
  const score = Math.max(0, 1 - rtt / 1000)
  link.latencyScore = 0.8 * link.latencyScore + 0.2 * score
}

/** Note a link event in the peer's history (the first one starts its uptime). */
export function noteLink(p: HostPeer, outcome: 'handshake' | 'failure', now: number): void {
  p.history.firstSeen ??= now
  if (outcome === 'handshake') p.history.handshakes++
  else p.history.failures++
}

/** Health = 0.4·reliability + 0.3·latency score + 0.3·uptime (0.5 → 1 over 1 h), in [0, 1]. */
export function health(p: HostPeer, link: HostLink, now: number): number {
  const h = p.history
  const reliability = h.handshakes / Math.max(1, h.handshakes + h.failures)
  const uptime = 0.5 + 0.5 * Math.min(1, (now - (h.firstSeen ?? now)) / 3_600_000)
  return 0.4 * reliability + 0.3 * link.latencyScore + 0.3 * uptime
}

/** The relink backoff: 250 ms doubling to 10 s (no jitter: one host asks one connection side). */
export const RELINK_BACKOFF = { initialMs: 250, maxMs: 10_000, factor: 2, jitter: 0 } as const

/**
 * While units wait for `p` and it has no ready link, ask for a link after a backoff, and again
 * until one is ready (the tries restart at the next ready link).
 */
export function relinkLater(
  p: HostPeer,
  ask: { stopped(): boolean; requestLink(peer: HostPeer['id']): void },
): void {
  if (ask.stopped() || p.relinkTimer !== undefined || p.delivery.pendingCount === 0) return
  const timer = setTimeout(
    () => {
      p.relinkTimer = undefined
      if (ask.stopped() || p.link !== undefined || p.delivery.pendingCount === 0) return
      ask.requestLink(p.id)
      relinkLater(p, ask)
    },
    backoffDelay(p.relinkTries++, RELINK_BACKOFF),
  )
  ;(timer as { unref?: () => void }).unref?.()
  p.relinkTimer = timer
}
