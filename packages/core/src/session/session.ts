/**
 * The application's view of a session: `send`, `broadcast`, `receive`, `collect`, `abort`.
 * A thin facade over the session host (in-thread or in a Worker).
 * @module
 */
import { Emitter, type Events } from '../events.ts'
import type { PartyId, SessionId } from '../ids.ts'
import type { PartyEvent, ReceiveOptions, SessionHost, SessionResume } from './types.ts'

/** Events of one session. */
export type SessionEvents = {
  aborted: Extract<PartyEvent, { type: 'session' }>
  closed: Extract<PartyEvent, { type: 'session' }>
}

/** A session among `participants`. Rounds start at 1; round 0 is reserved for control. */
export class Session implements Events<SessionEvents> {
  private readonly emitter = new Emitter<SessionEvents>()

  constructor(
    readonly id: SessionId,
    /** Every participant, sorted, this party included. */
    readonly participants: readonly PartyId[],
    /** This party. */
    readonly self: PartyId,
    private readonly host: SessionHost,
    /**
     * Set when the session was resumed from the party's outbox store after a restart: how many
     * units this party had sent per stream and how many messages it had received per sender,
     * so the application continues where it stopped. Undefined for a new session.
     */
    readonly resumed?: SessionResume,
  ) {}

  /** The participants other than this party. */
  get others(): PartyId[] {
    return this.participants.filter((p) => p !== this.self)
  }

  /**
   * Send `body` to one participant in `round`.
   * @throws ConclaveError `SESSION_ABORTED`, `SESSION_CLOSED`, `ROUND_RESERVED`, `INVALID_ARGUMENT`, `MESSAGE_TOO_LARGE`
   */
  send(to: PartyId, round: number, body: Uint8Array, options: { kind?: string } = {}): Promise<void> {
    return this.host.send(this.id, to, round, body, options.kind)
  }

  /** Send `body` to every other participant, signed once for the whole session. */
  broadcast(round: number, body: Uint8Array, options: { kind?: string } = {}): Promise<void> {
    return this.host.broadcast(this.id, round, body, options.kind)
  }

  /**
   * The next message from `from` in `round`.
   * @throws ConclaveError `ROUND_TIMEOUT` (details.silent), `SESSION_ABORTED`, `ABORTED`
   */
  receive(from: PartyId, round: number, options?: ReceiveOptions): Promise<Uint8Array> {
    return this.host.receive(this.id, from, round, options)
  }

  /** One message of `round` from every other participant. */
  collect(round: number, options?: ReceiveOptions): Promise<Map<PartyId, Uint8Array>> {
    return this.host.collect(this.id, round, options)
  }

  /**
   * Resolves once the session has started: at once for a session opened directly; for a
   * proposed one, when the proposer has every participant's ack and has sent `start`.
   * @throws ConclaveError `ROUND_TIMEOUT` naming who was silent (the session is aborted)
   */
  started(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.host.started ? this.host.started(this.id, options) : Promise.resolve()
  }

  /** Abort the session for everyone with a signed, final abort. */
  abort(reason: string): Promise<void> {
    return this.host.abort(this.id, reason)
  }

  /** Forget the session locally (its id may not be reused). */
  close(): void {
    this.host.closeSession(this.id)
  }

  on<K extends keyof SessionEvents & string>(
    name: K,
    handler: (payload: SessionEvents[K]) => void,
  ): () => void {
    return this.emitter.on(name, handler)
  }

  /** @internal routed by the party */
  dispatch(ev: Extract<PartyEvent, { type: 'session' }>): void {
    if (ev.state === 'aborted') this.emitter.emit('aborted', ev)
    if (ev.state === 'closed') this.emitter.emit('closed', ev)
  }
}
