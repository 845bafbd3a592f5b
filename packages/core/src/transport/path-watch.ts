/**
 * How a webrtc link notices that its path is gone (DESIGN "Connections"), so that it is
 * replaced at once instead of after the keepalive's 15 s of silence:
 * - its RTCPeerConnection's `connectionState` or `iceConnectionState` turns `failed`: at once;
 * - either turns `disconnected` and stays so for `disconnectGraceMs` (default
 *   {@link DISCONNECT_GRACE_MS}): a blip shorter than the grace keeps the link;
 * - a {@link PathHint} from the platform that carries the machine's addresses (Node): a link
 *   whose end of the candidate pair in use is not among them goes once another address has
 *   come (the machine moved to another network).
 *
 * *Why these and not more:* libwebrtc (wrtc and browsers alike) reports `disconnected` only
 * once its consent checks have gone unanswered for several seconds (about 7.7 s after a veth
 * was cut, measured with @roamhq/wrtc 0.10) and `failed` about 10 s after that, so a short cut
 * is not seen here at all: the link's SCTP sends what was lost again once the path is back
 * (0.8 s after a 5 s cut, measured). A link whose local address merely went away is kept for
 * the same reason: the address may come back with the path (a cable, a veth, a Wi-Fi blip),
 * and a new connection would wait for wrtc to see the interface again (it reads the interfaces
 * every 2 s: 2.0 s after the same cut, measured). Only a new address says the old one is not
 * coming back soon. Nor does a hint end a link that is `disconnected` at that moment: a hint
 * also comes when the path returns (an address comes back, the browser is `online` again), and
 * the link then recovers by itself within its grace (a link ended there took 2.1 s to carry
 * messages again after a 5 s cut, where one left alone took 0.8 s).
 * @module
 */
import { ConclaveError } from '../errors.ts'
import type { PathHint } from './types.ts'

/** How long a link may stay `disconnected` before it is replaced (ms). */
export const DISCONNECT_GRACE_MS = 2000

/** The path-watch settings of a webrtc transport. */
export interface PathWatchOptions {
  /**
   * How long a link's connection may stay `disconnected` before the link is replaced (ms, an
   * integer from 0 to 2³¹ − 1). @default 2000
   */
  disconnectGraceMs?: number
}

/**
 * Check the path-watch settings.
 * @throws ConclaveError `INVALID_ARGUMENT` when `disconnectGraceMs` is not an integer from 0 to 2³¹ − 1
 */
export function checkPathWatchOptions(o: PathWatchOptions): void {
  const v = o.disconnectGraceMs
  if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0x7fffffff)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"disconnectGraceMs" expected an integer from 0 to 2147483647, got ${String(v)}`,
    )
  }
}

/** What a path watch reads of an RTCPeerConnection (the browser's, or @roamhq/wrtc's). */
export interface WatchedConnection {
  readonly connectionState?: string
  readonly iceConnectionState?: string
  addEventListener?(type: string, listener: () => void): void
  removeEventListener?(type: string, listener: () => void): void
  getStats?(): Promise<{ values(): Iterable<unknown> }>
}

/** The state of a connection's path: up (or still being made), `disconnected`, or `failed`. */
export type PathState = 'up' | 'disconnected' | 'failed'

/** The path state of `pc`, from its `connectionState` and `iceConnectionState`. */
export function pathState(pc: WatchedConnection): PathState {
  const states = [pc.connectionState, pc.iceConnectionState]
  if (states.includes('failed')) return 'failed'
  if (states.includes('disconnected')) return 'disconnected'
  return 'up'
}

type Stat = { id?: unknown; type?: unknown; [k: string]: unknown }

/**
 * The machine address this end of `pc` sends from: the local candidate of the pair in use (the
 * transport's selected pair, else a nominated pair that succeeded), its own address for a host
 * candidate, its base (`relatedAddress`) for a server- or peer-reflexive one. Undefined when the
 * stack does not tell (no stats, an mDNS name, a TURN relay candidate).
 */
export async function localPathAddress(pc: WatchedConnection): Promise<string | undefined> {
  let stats: Stat[]
  try {
    const report = await pc.getStats?.()
    if (!report) return undefined
    stats = [...report.values()] as Stat[]
  } catch {
    return undefined // closed meanwhile
  }
  const byId = new Map(stats.map((s) => [String(s.id), s]))
  const selected = stats.find((s) => s.type === 'transport' && typeof s.selectedCandidatePairId === 'string')
  const pair =
    (selected && byId.get(String(selected.selectedCandidatePairId))) ??
    stats.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded')
  const local = pair ? byId.get(String(pair.localCandidateId)) : undefined
  if (!local) return undefined
  const type = local.candidateType
  const address =
    type === 'host'
      ? (local.address ?? local.ip)
      : type === 'srflx' || type === 'prflx'
        ? local.relatedAddress
        : undefined
  if (typeof address !== 'string' || address.length === 0 || address.endsWith('.local')) return undefined
  return normalizeAddress(address)
}

/** An address as compared here: lowercase, without brackets or an IPv6 zone. */
export function normalizeAddress(address: string): string {
  return address
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase()
}

/**
 * Watches one connection's path for one link, from {@link start}: calls `lost(reason)` once
 * when the path is gone (see the module comment), never after {@link stop}.
 */
export class PathWatch {
  private graceTimer: ReturnType<typeof setTimeout> | undefined
  private stopped = false
  private readonly onChange = (): void => this.update()

  constructor(
    private readonly pc: WatchedConnection | null,
    private readonly graceMs: number,
    private readonly lost: (reason: string) => void,
  ) {}

  /** Start watching (`lost` may be called at once, when the path is gone already). */
  start(): void {
    const pc = this.pc
    if (!pc || this.stopped) return
    pc.addEventListener?.('connectionstatechange', this.onChange)
    pc.addEventListener?.('iceconnectionstatechange', this.onChange)
    this.update()
  }

  /** A platform's hint (see the module comment). */
  check(hint: PathHint): void {
    const pc = this.pc
    if (this.stopped || !pc) return
    const { addresses, added } = hint
    if (!addresses || !added || added.size === 0) return
    void localPathAddress(pc).then((address) => {
      if (address !== undefined && !addresses.has(address))
        this.end(`its local address ${address} is gone and ${[...added].join(', ')} came (network changed)`)
    })
  }

  /** Stop watching (the link closed). */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.clearGrace()
    this.pc?.removeEventListener?.('connectionstatechange', this.onChange)
    this.pc?.removeEventListener?.('iceconnectionstatechange', this.onChange)
  }

  private update(): void {
    const pc = this.pc
    if (this.stopped || !pc) return
    const state = pathState(pc)
    if (state === 'failed') {
      this.end(describe(pc))
    } else if (state === 'disconnected') {
      if (this.graceTimer !== undefined) return
      this.graceTimer = setTimeout(() => {
        this.graceTimer = undefined
        if (pathState(pc) !== 'up') this.end(`${describe(pc)} for ${this.graceMs} ms`)
      }, this.graceMs)
      ;(this.graceTimer as { unref?: () => void }).unref?.()
    } else {
      this.clearGrace()
    }
  }

  private end(reason: string): void {
    if (this.stopped) return
    this.stop()
    this.lost(reason)
  }

  private clearGrace(): void {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer)
    this.graceTimer = undefined
  }
}

function describe(pc: WatchedConnection): string {
  return `connection ${pc.connectionState ?? '?'}, ICE ${pc.iceConnectionState ?? '?'}`
}
