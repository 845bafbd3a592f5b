/**
 * Chat between the tabs of a room, over ordinary Conclave sessions.
 *
 * The scheme (deterministic, no coordinator): every pair of parties has one long-lived
 * two-party session of protocol {@link CHAT_PROTOCOL}, whose params are the room name.
 * - The party with the smaller PartyId proposes it as soon as the link to the other is ready,
 *   and again whenever that session ends (e.g. `PEER_RESTARTED` after the other tab reloaded).
 * - The other party joins a chat proposal only from that peer, for this room, naming exactly
 *   the two of them, and answers with a `hello` message, so both ends know the pair is up.
 *   A newer proposal from the same peer replaces the older session.
 * - A message is round 1, kind `chat`: `send` to one party, or `broadcast` in each pair session
 *   ("to everyone"). The page receives each message the host announces (`message` event) with
 *   one receive of an explicit timeout, so a quiet chat never aborts at a round deadline.
 * - After a reload with the outbox store, the pair sessions come back: the chat remembers them
 *   per identity and room ({@link ChatMemory}), and {@link ChatService.resume} reopens those the
 *   session host restored, taking the messages they had received and not shown yet. The peer
 *   saw no restart (same stream epoch), so its side of the session simply goes on. Without the
 *   store the peer sees `PEER_RESTARTED`, the session ends, and the pair is proposed again.
 *
 * Parties that do not speak this protocol (a Node `conclave-party`) never join; the page shows
 * no chat for them. Every message delivered here passed the session host's receive pipeline:
 * strict Ed25519 verification, sender = the authenticated peer of the link, freshness, replay.
 * @module
 */
import {
  type Party,
  type PartyEvent,
  type PartyId,
  type ProposalInfo,
  type RestoredSession,
  type Session,
  type SessionId,
  utf8,
} from '@conclave/core'

/** The protocol name of the chat sessions (bound into every chat session id). */
export const CHAT_PROTOCOL = 'conclave-demo/chat/v1'

const ROUND = 1
const KIND = 'chat'
const HELLO = 'hello'
/**
 * Receives are issued for announced messages, so they find their message at once; the explicit
 * timeout only keeps a quiet session from aborting at a round deadline (ms).
 */
const WAIT_MS = 600_000
/** Receives issued per task. */
const SLICE = 32
/** Announcements kept for sessions not adopted yet. */
const EARLY_MAX = 1000
/** Longest text accepted from a peer, in characters. */
const MAX_TEXT = 2000
const RETRY_MS = 5000

type MessageEvent = Extract<PartyEvent, { type: 'message' }>

/** Run `fn` in a task of its own, after input and rendering (background priority where it exists). */
function background(fn: () => void): void {
  const scheduler = (globalThis as { scheduler?: { postTask?: (f: () => void, o: object) => unknown } })
    .scheduler
  if (scheduler?.postTask) void scheduler.postTask(fn, { priority: 'background' })
  else setTimeout(fn, 0)
}

/** A chat message, received or sent. */
export interface ChatMessage {
  from: PartyId
  /** A party, or everyone. */
  to: PartyId | 'everyone'
  text: string
  /** The sender's clock when it sent it (ms). */
  sentAt: number
}

/** What the chat tells the page. */
export interface ChatEvents {
  message(m: ChatMessage): void
  /** The set of parties one can chat with changed. */
  changed(): void
}

/** A pair session as the chat remembers it across reloads. */
export interface RememberedPair {
  sessionId: SessionId
  established: boolean
}

/** Where the chat keeps its pair sessions, to resume them after a reload. */
export interface ChatMemory {
  load(): Map<PartyId, RememberedPair>
  save(pairs: Map<PartyId, RememberedPair>): void
}

/** A {@link ChatMemory} in localStorage, per identity and room. */
export function localChatMemory(self: PartyId, room: string): ChatMemory {
  const key = `conclave-demo/chat/${self}/${room}`
  return {
    load() {
      try {
        const v = JSON.parse(localStorage.getItem(key) ?? '{}') as Record<string, RememberedPair>
        return new Map(
          Object.entries(v)
            .filter(([, p]) => typeof p?.sessionId === 'string' && typeof p.established === 'boolean')
            .map(([peer, p]) => [peer as PartyId, { sessionId: p.sessionId, established: p.established }]),
        )
      } catch {
        return new Map()
      }
    },
    save(pairs) {
      if (pairs.size === 0) localStorage.removeItem(key)
      else localStorage.setItem(key, JSON.stringify(Object.fromEntries(pairs)))
    },
  }
}

interface PairSession {
  peer: PartyId
  session: Session
  role: 'proposer' | 'joiner'
  /** Both ends have the session open (the joiner's hello arrived, or we joined). */
  established: boolean
}

/** The chat of one party in one room. */
export class ChatService {
  private readonly pairs = new Map<PartyId, PairSession>()
  private readonly bySession = new Map<string, PairSession>()
  private readonly proposing = new Set<PartyId>()
  private readonly retryAfter = new Map<PartyId, number>()
  private readonly early = new Map<string, MessageEvent[]>()
  private readonly announced: MessageEvent[] = []
  /** Chat sessions that ended, by id (for naming them in the event log). */
  private readonly ended = new Map<string, PartyId>()
  private draining = false
  private readonly params: Uint8Array
  private ready: readonly PartyId[] = []
  /** No pair is proposed before {@link resume} ran (a restored one would be proposed twice). */
  private resumed = false

  constructor(
    private readonly party: Party,
    room: string,
    private readonly events: ChatEvents,
    private readonly memory?: ChatMemory,
  ) {
    this.params = utf8(room)
    party.on('proposal', (ev) => this.onProposal(ev.proposal))
    party.on('session', (ev) => this.onSession(ev))
    party.on('message', (ev) => this.onMessage(ev))
  }

  /** Parties with an established chat session, in PartyId order. */
  peers(): PartyId[] {
    return [...this.pairs.values()]
      .filter((p) => p.established)
      .map((p) => p.peer)
      .sort()
  }

  /** "chat session with abcd1234" for a chat session (live or ended), else undefined. */
  describe(sessionId: string): string | undefined {
    const peer = this.ended.get(sessionId) ?? this.bySession.get(sessionId)?.peer
    return peer === undefined ? undefined : `chat session with ${peer.slice(0, 8)}`
  }

  /**
   * Once the party started: reopen the pair sessions remembered from before a reload that the
   * session host restored from its outbox store (with the messages waiting in them), then start
   * proposing. Returns the ids it took; the other restored sessions are not the chat's.
   */
  resume(restored: readonly RestoredSession[]): Set<SessionId> {
    const taken = new Set<SessionId>()
    for (const [peer, remembered] of this.memory?.load() ?? []) {
      const r = restored.find((x) => x.options.id === remembered.sessionId)
      if (!r || r.options.participants.length !== 2 || !r.options.participants.includes(peer)) continue
      if (this.pairs.has(peer)) continue // the peer proposed a new one meanwhile
      let session: Session
      try {
        session = this.party.session(r.options)
      } catch {
        continue
      }
      taken.add(session.id)
      const role = this.party.id < peer ? 'proposer' : 'joiner'
      this.adopt({ peer, session, role, established: remembered.established })
      // received before the reload and not shown: announced then, so asked for now
      for (const k of r.waiting) {
        if (k.round !== ROUND || (k.kind !== KIND && k.kind !== HELLO)) continue
        this.take({ type: 'message', sessionId: session.id, ...k, bytes: 0 })
      }
    }
    this.resumed = true
    this.remember()
    this.sync(this.ready)
    return taken
  }

  /** The ready peers changed: propose the pair sessions this party owes. */
  sync(ready: readonly PartyId[]): void {
    this.ready = ready
    if (!this.resumed) return
    const now = Date.now()
    for (const peer of ready) {
      if (!(this.party.id < peer) || this.pairs.has(peer) || this.proposing.has(peer)) continue
      if ((this.retryAfter.get(peer) ?? 0) > now) continue
      void this.propose(peer)
    }
  }

  private async propose(peer: PartyId): Promise<void> {
    this.proposing.add(peer)
    try {
      const session = await this.party.propose({
        protocol: CHAT_PROTOCOL,
        params: this.params,
        participants: [this.party.id, peer],
      })
      this.adopt({ peer, session, role: 'proposer', established: false })
    } catch {
      this.retryAfter.set(peer, Date.now() + RETRY_MS)
    } finally {
      this.proposing.delete(peer)
    }
  }

  private onProposal(p: ProposalInfo): void {
    if (p.protocol !== CHAT_PROTOCOL) return
    const peer = p.proposer
    const sameRoom = p.params.length === this.params.length && p.params.every((b, i) => b === this.params[i])
    const pair =
      p.participants.length === 2 && p.participants.includes(this.party.id) && peer !== this.party.id
    if (!sameRoom || !pair || !(peer < this.party.id)) return
    const old = this.pairs.get(peer)
    if (old) this.drop(old)
    let session: Session
    try {
      session = this.party.join(p.sessionId)
    } catch {
      return // expired or already joined
    }
    this.adopt({ peer, session, role: 'joiner', established: true })
    session.send(peer, ROUND, utf8(HELLO), { kind: HELLO }).catch(() => undefined)
  }

  /** Write the pair sessions to the memory (after every change). */
  private remember(): void {
    if (!this.memory || !this.resumed) return
    this.memory.save(
      new Map(
        [...this.pairs].map(([peer, p]) => [peer, { sessionId: p.session.id, established: p.established }]),
      ),
    )
  }

  private adopt(pair: PairSession): void {
    this.pairs.set(pair.peer, pair)
    this.bySession.set(pair.session.id, pair)
    this.remember()
    const early = this.early.get(pair.session.id)
    this.early.delete(pair.session.id)
    for (const ev of early ?? []) this.take(ev)
    this.events.changed()
  }

  /**
   * The host announces every message it put in a session's inbox: each one is taken with a
   * receive of its own, so receives go out as fast as messages arrive (a burst of thousands is
   * drained at the Worker's pace and never piles up to the inbox's cap) and none waits idle.
   * The receives are issued in slices of {@link SLICE}, one slice per task at background
   * priority: a batch of hundreds of announcements never becomes one long task, so clicks and
   * frames get in between.
   */
  private onMessage(ev: MessageEvent): void {
    if (ev.round !== ROUND || (ev.kind !== KIND && ev.kind !== HELLO)) return
    this.announced.push(ev)
    if (this.draining) return
    this.draining = true
    const slice = (): void => {
      for (const next of this.announced.splice(0, SLICE)) this.take(next)
      if (this.announced.length > 0) background(slice)
      else this.draining = false
    }
    background(slice)
  }

  private take(ev: MessageEvent): void {
    const pair = this.bySession.get(ev.sessionId)
    if (!pair) {
      // announced before propose() resolved here (events and results travel on two ports)
      const list = this.early.get(ev.sessionId) ?? []
      if (list.length < EARLY_MAX) list.push(ev)
      this.early.set(ev.sessionId, list)
      if (this.early.size > EARLY_MAX) this.early.delete(this.early.keys().next().value!)
      return
    }
    if (ev.from !== pair.peer) return
    pair.session
      .receive(pair.peer, ROUND, { kind: ev.kind, broadcast: ev.broadcast, timeoutMs: WAIT_MS })
      .then(
        (body) => {
          if (this.pairs.get(pair.peer) !== pair) return
          if (ev.kind === HELLO) {
            pair.established = true
            this.remember()
            this.events.changed()
            return
          }
          const m = decodeChat(body)
          if (!m) return
          this.events.message({
            from: pair.peer,
            to: ev.broadcast ? 'everyone' : this.party.id,
            text: m.text,
            sentAt: m.at,
          })
        },
        () => undefined, // the session ended: nothing left to take
      )
  }

  private onSession(ev: Extract<PartyEvent, { type: 'session' }>): void {
    if (ev.state === 'opened') return
    const pair = this.bySession.get(ev.sessionId)
    if (!pair) return
    this.bySession.delete(ev.sessionId)
    this.ended.set(ev.sessionId, pair.peer)
    if (this.ended.size > 256) this.ended.delete(this.ended.keys().next().value!)
    if (this.pairs.get(pair.peer) === pair) {
      this.pairs.delete(pair.peer)
      this.remember()
      this.events.changed()
      this.sync(this.ready)
    }
  }

  private drop(pair: PairSession): void {
    this.pairs.delete(pair.peer)
    this.bySession.delete(pair.session.id)
    this.remember()
    pair.session.close()
  }

  /**
   * Send `text` to one party or to everyone, `repeat` times (a load test: "#i" is appended).
   * Resolves to the messages signed and queued (none when there is nobody to send to);
   * `progress` sees their count grow.
   * @throws ConclaveError when a session refuses the message (`SESSION_ABORTED` …)
   */
  async send(
    to: PartyId | 'everyone',
    text: string,
    repeat = 1,
    progress?: (sent: number) => void,
  ): Promise<ChatMessage[]> {
    const targets =
      to === 'everyone'
        ? [...this.pairs.values()].filter((p) => p.established)
        : [this.pairs.get(to)].filter((p): p is PairSession => p?.established === true)
    if (targets.length === 0) return []
    const sent: ChatMessage[] = []
    const CHUNK = 100
    for (let start = 0; start < repeat; start += CHUNK) {
      const batch: Promise<void>[] = []
      for (let i = start; i < Math.min(repeat, start + CHUNK); i++) {
        const line = repeat > 1 ? `${text} #${i + 1}` : text
        const at = Date.now()
        const body = utf8(JSON.stringify({ v: 1, text: line, at }))
        for (const p of targets) {
          batch.push(
            to === 'everyone'
              ? p.session.broadcast(ROUND, body, { kind: KIND })
              : p.session.send(p.peer, ROUND, body, { kind: KIND }),
          )
        }
        sent.push({ from: this.party.id, to, text: line, sentAt: at })
      }
      await Promise.all(batch)
      progress?.(sent.length)
    }
    return sent
  }
}

/** A chat body: UTF-8 JSON `{ v: 1, text, at }`. Undefined for anything else. */
function decodeChat(body: Uint8Array): { text: string; at: number } | undefined {
  try {
    const j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as unknown
    if (!j || typeof j !== 'object') return undefined
    const { v, text, at } = j as { v?: unknown; text?: unknown; at?: unknown }
    if (v !== 1 || typeof text !== 'string') return undefined
    return { text: text.slice(0, MAX_TEXT), at: typeof at === 'number' ? at : 0 }
  } catch {
    return undefined
  }
}
