/**
 * The `memory` transport: parties in one process linked through a {@link MemoryNetwork}.
 * Frames are copied (as a network would) and delivered asynchronously, in order. An
 * interceptor lets tests play the network attacker: read, alter, drop or redirect frames.
 * @module
 */

import { ConclaveError, type ErrorCode } from '../errors.ts'
import { Emitter } from '../events.ts'
import type { PartyId } from '../ids.ts'
import type { Link, Transport } from './types.ts'

/** What an interceptor sees of one frame. */
export interface InterceptedFrame {
  /** The party whose link sent it. */
  from: PartyId
  /** The party at the other end of that link. */
  to: PartyId
  frame: Uint8Array
}

/** Return a frame to deliver (the same or altered), or `null` to drop it. */
export type Interceptor = (f: InterceptedFrame) => Uint8Array | null

export interface MemoryNetworkOptions {
  /** Max frame size of every link. @default 65536 */
  maxMessageSize?: number
}

/** Route the links that `from` asks for to `to` towards `via` instead (a hostile network). */
export interface Redirect {
  from: PartyId
  to: PartyId
  via: PartyId
}

interface Endpoint {
  readonly id: PartyId
  readonly emitter: Emitter<{ link: Link }>
}

let linkCounter = 0

class MemoryLink implements Link {
  readonly kind = 'memory' as const
  readonly id: string
  readonly bufferedAmount = 0
  other: MemoryLink | undefined
  closed = false
  private readonly messages = new Emitter<{ message: Uint8Array }>()
  private readonly closes = new Emitter<{ close: { code: ErrorCode; reason: string } }>()

  constructor(
    readonly local: PartyId,
    readonly peer: PartyId,
    readonly initiator: boolean,
    readonly maxMessageSize: number,
    private readonly net: MemoryNetwork,
  ) {
    this.id = `mem-${++linkCounter}`
  }

  fingerprints(): undefined {
    return undefined
  }

  send(frame: Uint8Array): void {
    if (this.closed) throw new ConclaveError('LINK_CLOSED', `link ${this.id} is closed`)
    if (frame.length > this.maxMessageSize) {
      throw new ConclaveError(
        'FRAME_TOO_LARGE',
        `frame of ${frame.length} bytes over the link's ${this.maxMessageSize}`,
      )
    }
    const copy = frame.slice()
    const target = this.other
    const out = this.net.intercept({ from: this.local, to: this.peer, frame: copy })
    if (out === null || !target) return
    this.net.deliver(() => {
      if (!target.closed) target.messages.emit('message', out)
    })
  }

  onMessage(handler: (frame: Uint8Array) => void): () => void {
    return this.messages.on('message', handler)
  }

  onClose(handler: (code: ErrorCode, reason: string) => void): () => void {
    return this.closes.on('close', ({ code, reason }) => handler(code, reason))
  }

  close(code: ErrorCode = 'LINK_CLOSED', reason = ''): void {
    if (this.closed) return
    this.closed = true
    this.closes.emit('close', { code, reason })
    const other = this.other
    if (other) this.net.deliver(() => other.close(code, reason))
  }
}

/** An in-process network of memory transports. */
export class MemoryNetwork {
  private readonly endpoints = new Map<PartyId, Endpoint>()
  private readonly links = new Map<string, [MemoryLink, MemoryLink]>()
  private interceptor: Interceptor | undefined
  private readonly redirects: Redirect[] = []
  readonly maxMessageSize: number
  private pendingDeliveries: (() => void)[] = []
  private scheduled = false

  constructor(options: MemoryNetworkOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 65536
  }

  /** A transport for one party on this network. */
  transport(): Transport {
    return new MemoryTransport(this)
  }

  /** See (and alter or drop) every frame. Pass `undefined` to stop. */
  setInterceptor(fn: Interceptor | undefined): void {
    this.interceptor = fn
  }

  /** Make links that `from` asks for towards `to` land at `via` (which believes it talks to `from`). */
  redirect(r: Redirect): void {
    this.redirects.push(r)
  }

  /** Close every open link between `a` and `b` (a cut cable). */
  cut(a: PartyId, b: PartyId, code: ErrorCode = 'LINK_LOST'): void {
    for (const [key, [x, y]] of this.links) {
      if ((x.local === a && x.peer === b) || (x.local === b && x.peer === a)) {
        this.links.delete(key)
        x.close(code, 'cut')
        y.close(code, 'cut')
      }
    }
  }

  /** @internal */
  intercept(f: InterceptedFrame): Uint8Array | null {
    return this.interceptor ? this.interceptor(f) : f.frame
  }

  /** @internal Deliver in order, asynchronously (as a network would). */
  deliver(fn: () => void): void {
    this.pendingDeliveries.push(fn)
    if (this.scheduled) return
    this.scheduled = true
    setTimeout(() => {
      this.scheduled = false
      const batch = this.pendingDeliveries
      this.pendingDeliveries = []
      for (const d of batch) d()
    }, 0)
  }

  /** @internal */
  register(ep: Endpoint): void {
    if (this.endpoints.has(ep.id))
      throw new ConclaveError('INVALID_ARGUMENT', `party ${ep.id.slice(0, 16)}… already on this network`)
    this.endpoints.set(ep.id, ep)
  }

  /** @internal */
  unregister(id: PartyId): void {
    this.endpoints.delete(id)
    for (const [key, [a, b]] of this.links) {
      if (a.local === id || b.local === id) {
        this.links.delete(key)
        a.close('LINK_CLOSED', 'party left')
        b.close('LINK_CLOSED', 'party left')
      }
    }
  }

  /** @internal */
  connect(from: PartyId, to: PartyId): void {
    const redirect = this.redirects.find((r) => r.from === from && r.to === to)
    const target = redirect ? redirect.via : to
    const key = pairKey(from, to)
    const existing = this.links.get(key)
    if (existing && !existing[0].closed && !existing[1].closed) return
    const a = this.endpoints.get(from)
    const b = this.endpoints.get(target)
    if (!a || !b)
      throw new ConclaveError('PEER_UNREACHABLE', `party ${to.slice(0, 16)}… is not on this network`)
    const fromIsInitiator = from < to
    // `via` believes it is talking to `from`; `from` believes it is talking to `to`.
    const la = new MemoryLink(from, to, fromIsInitiator, this.maxMessageSize, this)
    const lb = new MemoryLink(target, from, !fromIsInitiator, this.maxMessageSize, this)
    la.other = lb
    lb.other = la
    this.links.set(key, [la, lb])
    a.emitter.emit('link', la)
    b.emitter.emit('link', lb)
  }
}

function pairKey(a: PartyId, b: PartyId): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`
}

class MemoryTransport implements Transport, Endpoint {
  readonly kind = 'memory' as const
  readonly emitter = new Emitter<{ link: Link }>()
  private local: PartyId | undefined

  constructor(private readonly net: MemoryNetwork) {}

  get id(): PartyId {
    if (!this.local) throw new ConclaveError('NOT_STARTED', 'memory transport not started')
    return this.local
  }

  async start(local: PartyId): Promise<void> {
    this.local = local
    this.net.register(this)
  }

  async stop(): Promise<void> {
    if (this.local) this.net.unregister(this.local)
    this.local = undefined
  }

  async connect(peer: PartyId): Promise<void> {
    this.net.connect(this.id, peer)
  }

  onLink(handler: (link: Link) => void): () => void {
    return this.emitter.on('link', handler)
  }
}

/** A new in-process network. */
export function createMemoryNetwork(options?: MemoryNetworkOptions): MemoryNetwork {
  return new MemoryNetwork(options)
}
