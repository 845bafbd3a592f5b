/**
 * The front of a transport that dials through a connection manager (webrtc, relay): its
 * `onLink` and `onState` events.
 * @module
 */
import { Emitter } from '../events.ts'
import type { ConnectionManager, DialRecord } from './connection-manager.ts'
import type { Link, LinkStateEvent } from './types.ts'

/**
 * The front that the transports on a connection manager share: their `onLink` and `onState`
 * events (a subclass sets `manager` in its constructor and announces its links).
 */
export abstract class DialingTransport<R extends DialRecord> {
  protected abstract readonly manager: ConnectionManager<R>
  private readonly linkEvents = new Emitter<{ link: Link }>()

  /** Every new link, on the end that asked and on the end that was asked. */
  onLink(handler: (link: Link) => void): () => void {
    return this.linkEvents.on('link', handler)
  }

  /** States before a link exists. */
  onState(handler: (event: LinkStateEvent) => void): () => void {
    return this.manager.onState(handler)
  }

  /** Announce a new link. */
  protected announce(link: Link): void {
    this.linkEvents.emit('link', link)
  }
}
