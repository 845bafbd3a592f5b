/**
 * `createParty`: one party of a multi-party computation. It wires a transport (the links) to a
 * session host (channels, envelopes, sessions) and gives the application sessions, peers,
 * events and counters. Platform pieces are passed in, never detected.
 * @module
 */
import type { NextTurn } from './channel/next-turn.ts'
import type { CounterSnapshot } from './counters.ts'
import type { CryptoBackend, SigningKey } from './crypto/types.ts'
import { ConclaveError } from './errors.ts'
import { Emitter, type Events } from './events.ts'
import { type PartyId, parsePartyId, parseSessionId, partyIdFromBytes, type SessionId } from './ids.ts'
import type { Roster } from './roster.ts'
import type { GrantStore } from './session/grants.ts'
import { createInThreadSessionHost } from './session/host.ts'
import type { Limits } from './session/limits.ts'
import type { OutboxStore } from './session/outbox.ts'
import { Session } from './session/session.ts'
import type {
  PartyEvent,
  PeerInfo,
  ProposalInfo,
  ProposeOptions,
  SessionHost,
  SessionOptions,
} from './session/types.ts'
import type { Link, Transport } from './transport/types.ts'
import { deriveSessionId } from './wire/sid.ts'
import { rosterHostConfig } from './worker/config.ts'

/** Options of {@link createParty}. */
export interface PartyOptions {
  /** The party's signing key (its PartyId is the public key). */
  identity: SigningKey
  crypto: CryptoBackend
  transport: Transport
  /** Trust anchor; without it the party runs in open mode. */
  roster?: Roster
  /** Service mode that every peer must share. @default 'conclave' */
  mode?: string
  limits?: Partial<Limits>
  /** A session host (e.g. a Worker proxy). @default an in-thread host */
  host?: SessionHost
  /** 16-byte stream epoch. @default random */
  epoch?: Uint8Array
  /**
   * Remembers used grantIds (a file store in Node survives restarts). Only for the in-thread
   * host: a custom `host` takes its store in its own configuration (`grantStore: { file }`).
   * @default in memory
   */
  grantStore?: GrantStore
  /**
   * Outbox store (DESIGN "Delivery"): with it, a party restarted with the same key and store
   * keeps its epoch, resumes its delivery streams, and reopening a session it had open
   * (`party.session({ id, participants })`) resumes it (see `Session.resumed`). Only for the
   * in-thread host: a custom `host` is given its store in its own configuration.
   * @default none: a restart is a new epoch, and peers abort the open sessions (PEER_RESTARTED)
   */
  outbox?: OutboxStore
  now?: () => number
  /**
   * The next event-loop turn of the in-thread host, on which a turn's records share frames (Node:
   * `setImmediateTurn` from `@conclave/core/node`). @default a MessageChannel turn
   */
  nextTurn?: NextTurn
}

/** Events of a party, by type. */
export type PartyEvents = { [K in PartyEvent['type']]: Extract<PartyEvent, { type: K }> } & {
  event: PartyEvent
}

/** One party. */
export interface Party extends Events<PartyEvents> {
  readonly id: PartyId
  /** True when no roster restricts who may connect. */
  readonly open: boolean
  start(options?: { signal?: AbortSignal }): Promise<void>
  stop(): Promise<void>
  /** Ask for a link to `peer` (also done on demand when a session needs it). */
  connect(peer: PartyId): Promise<void>
  /**
   * Open a session.
   * @throws ConclaveError `SESSION_EXISTS`, `INVALID_ARGUMENT`
   */
  session(options: SessionOptions): Session
  /**
   * Propose a session: its id is derived from the proposal (protocol, params, participants,
   * this party as proposer, a fresh nonce), and every participant recomputes it.
   */
  propose(options: ProposeOptions): Promise<Session>
  /**
   * Join a session proposed by another party (see the `proposal` event and `proposals()`).
   * @throws ConclaveError `PROPOSAL_UNKNOWN`
   */
  join(sessionId: SessionId, options?: Pick<SessionOptions, 'roundTimeoutMs' | 'roundTimeouts'>): Session
  /** Proposals received and not joined yet. */
  proposals(): ProposalInfo[]
  /**
   * The session id a proposal of this party would have (to ask an issuer for its grant first).
   * Pass the same `nonce` to `propose`.
   */
  sessionIdFor(
    options: Pick<ProposeOptions, 'protocol' | 'params' | 'participants'> & { nonce: Uint8Array },
  ): SessionId
  /** Ready peers. */
  peers(): PeerInfo[]
  /** Resolve when every one of `peers` has a ready link. */
  waitForPeers(
    peers: readonly PartyId[],
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<void>
  counters(): CounterSnapshot
}

/**
 * Create a party.
 * @example
 * ```ts
 * const net = createMemoryNetwork()
 * const crypto = createNobleBackend()
 * const party = createParty({ identity: (await generateIdentity(crypto)).key, crypto, transport: net.transport() })
 * await party.start()
 * ```
 */
export function createParty(options: PartyOptions): Party {
  if (!options || !options.identity || !options.crypto || !options.transport) {
    throw new ConclaveError('INVALID_ARGUMENT', 'createParty expected { identity, crypto, transport }')
  }
  // these configure the in-thread host: a custom host (a Worker proxy) takes its own in its
  // config, so one given here would be silently dropped (a roster here and none in the host's
  // config would say "roster" while the host accepts anyone)
  if (options.host) {
    for (const key of HOST_CONFIG_KEYS) {
      if (options[key] !== undefined)
        throw new ConclaveError(
          'INVALID_ARGUMENT',
          `"${key}" configures the in-thread host; pass it in the custom host's config`,
        )
    }
  }
  return new PartyImpl(options)
}

/** The options that configure the in-thread host, refused beside a custom `host`. */
const HOST_CONFIG_KEYS = [
  'roster',
  'mode',
  'limits',
  'epoch',
  'grantStore',
  'outbox',
  'now',
  'nextTurn',
] as const

class PartyImpl implements Party {
  readonly id: PartyId
  private readonly host: SessionHost
  private readonly emitter = new Emitter<PartyEvents>()
  private readonly links = new Map<string, Link>()
  private readonly sessions = new Map<string, Session>()
  private readonly unsubscribe: (() => void)[] = []
  private started = false

  constructor(private readonly o: PartyOptions) {
    this.id = partyIdFromBytes(o.identity.publicKey)
    this.host =
      o.host ??
      createInThreadSessionHost({
        crypto: o.crypto,
        identity: o.identity,
        ...(o.mode !== undefined ? { mode: o.mode } : {}),
        ...(o.roster ? rosterHostConfig(o.roster) : {}),
        ...(o.grantStore ? { grantStore: o.grantStore } : {}),
        ...(o.limits ? { limits: o.limits } : {}),
        ...(o.epoch ? { epoch: o.epoch } : {}),
        ...(o.outbox ? { outbox: o.outbox } : {}),
        ...(o.now ? { now: o.now } : {}),
        ...(o.nextTurn ? { nextTurn: o.nextTurn } : {}),
      })
  }

  get open(): boolean {
    return this.host.open
  }

  on<K extends keyof PartyEvents & string>(name: K, handler: (payload: PartyEvents[K]) => void): () => void {
    return this.emitter.on(name, handler)
  }

  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.started) return
    this.started = true
    this.host.connect({
      sendFrame: (linkId, frame) => {
        const link = this.links.get(linkId)
        if (!link || link.closed) return
        link.send(frame)
      },
      closeLink: (linkId, code, reason) => {
        const link = this.links.get(linkId)
        this.links.delete(linkId)
        link?.close(code, reason)
      },
      requestLink: (peer) => {
        this.o.transport.connect(peer).catch((e: unknown) => {
          this.emitEvent({
            type: 'drop',
            code: 'PEER_UNREACHABLE',
            peer,
            reason: e instanceof Error ? e.message : String(e),
          })
        })
      },
      event: (ev) => this.emitEvent(ev),
    })
    this.unsubscribe.push(this.o.transport.onLink((link) => this.attach(link)))
    const onState = this.o.transport.onState?.bind(this.o.transport)
    if (onState) {
      this.unsubscribe.push(
        onState((ev) => {
          if (ev.state === 'idle') return
          this.emitEvent({
            type: 'peer',
            peer: ev.peer,
            state: ev.state,
            transport: this.o.transport.kind,
            ...(ev.code ? { code: ev.code } : {}),
            ...(ev.reason ? { reason: ev.reason } : {}),
          })
        }),
      )
    }
    await this.o.transport.start(this.id, opts)
  }

  private emitEvent(ev: PartyEvent): void {
    if (ev.type === 'alarm') this.o.transport.blockRelay?.(ev.peer)
    if (ev.type === 'peer' && ev.state === 'ready') this.markReady(ev.peer, ev.transport)
    if (ev.type === 'session') {
      this.sessions.get(ev.sessionId)?.dispatch(ev)
      // the host released it: its id stays there (never opened again), nothing here
      if (ev.state === 'closed') this.sessions.delete(ev.sessionId)
    }
    this.emitter.emit(ev.type, ev as never)
    this.emitter.emit('event', ev)
  }

  /**
   * Tell the transport that the link to `peer` of `kind` finished its handshake (a transport
   * has at most one open link per peer and kind), so it counts that link as good.
   */
  private markReady(peer: PartyId, kind: Link['kind']): void {
    for (const link of this.links.values())
      if (link.peer === peer && link.kind === kind && !link.closed) link.markReady?.()
  }

  private attach(link: Link): void {
    this.links.set(link.id, link)
    link.onMessage((frame) => this.host.linkFrame(link.id, frame))
    link.onClose((code, reason) => {
      this.links.delete(link.id)
      this.host.linkClosed(link.id, code, reason)
    })
    this.host.linkOpened({
      linkId: link.id,
      peer: link.peer,
      initiator: link.initiator,
      kind: link.kind,
      maxFrameSize: link.maxMessageSize,
      fingerprints: link.fingerprints(),
    })
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const u of this.unsubscribe.splice(0)) u()
    this.host.stop()
    await this.o.transport.stop()
    for (const l of this.links.values()) l.close('LINK_CLOSED', 'party stopped')
    this.links.clear()
  }

  async connect(peer: PartyId): Promise<void> {
    await this.o.transport.connect(parsePartyId(peer))
  }

  session(options: SessionOptions): Session {
    if (!this.started) throw new ConclaveError('NOT_STARTED', 'call party.start() before opening sessions')
    const id = parseSessionId(options.id)
    if (!Array.isArray(options.participants))
      throw new ConclaveError('INVALID_ARGUMENT', '"participants" expected an array of PartyIds')
    const participants = [...options.participants].map((p) => parsePartyId(p)).sort()
    this.host.openSession({ ...options, id, participants })
    const s = new Session(id, participants, this.id, this.host, this.host.resumeOf(id))
    this.sessions.set(id, s)
    return s
  }

  async propose(options: ProposeOptions): Promise<Session> {
    if (!this.started) throw new ConclaveError('NOT_STARTED', 'call party.start() before proposing sessions')
    const participants = [...options.participants].map((p) => parsePartyId(p)).sort()
    const id = await this.host.propose({ ...options, participants })
    const s = new Session(id, participants, this.id, this.host)
    this.sessions.set(id, s)
    return s
  }

  join(
    sessionId: SessionId,
    options: Pick<SessionOptions, 'roundTimeoutMs' | 'roundTimeouts'> = {},
  ): Session {
    if (this.sessions.has(sessionId)) {
      throw new ConclaveError(
        'SESSION_EXISTS',
        `session ${String(sessionId).slice(0, 16)}… was already opened by this party`,
      )
    }
    const p = this.host.proposals().find((x) => x.sessionId === sessionId)
    if (!p)
      throw new ConclaveError(
        'PROPOSAL_UNKNOWN',
        `no pending proposal for session ${String(sessionId).slice(0, 16)}…`,
      )
    return this.session({ ...options, id: sessionId, participants: p.participants })
  }

  proposals(): ProposalInfo[] {
    return this.host.proposals()
  }

  sessionIdFor(
    options: Pick<ProposeOptions, 'protocol' | 'params' | 'participants'> & { nonce: Uint8Array },
  ): SessionId {
    return deriveSessionId({
      protocol: options.protocol,
      params: options.params ?? new Uint8Array(0),
      participants: options.participants.map((p) => parsePartyId(p)),
      proposer: this.id,
      nonce: options.nonce,
    })
  }

  peers(): PeerInfo[] {
    return this.host.peers()
  }

  counters(): CounterSnapshot {
    return this.host.counters()
  }

  waitForPeers(
    peers: readonly PartyId[],
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<void> {
    const want = new Set(peers.filter((p) => p !== this.id))
    const missing = (): PartyId[] => {
      const ready = new Set(this.peers().map((p) => p.peer))
      return [...want].filter((p) => !ready.has(p))
    }
    for (const p of missing()) void this.connect(p).catch(() => undefined)
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (missing().length > 0) return
        done()
        resolve()
      }
      const off = this.on('peer', check)
      const timer = setTimeout(() => {
        done()
        reject(
          new ConclaveError(
            'PEER_UNREACHABLE',
            `peers not ready: ${missing()
              .map((p) => p.slice(0, 8))
              .join(', ')}`,
            { missing: missing() },
          ),
        )
      }, opts.timeoutMs ?? 30_000)
      const onAbort = (): void => {
        done()
        reject(new ConclaveError('ABORTED', 'waitForPeers aborted'))
      }
      const done = (): void => {
        off()
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
      }
      opts.signal?.addEventListener('abort', onAbort)
      check()
    })
  }
}
