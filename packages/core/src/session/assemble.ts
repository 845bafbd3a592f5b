/**
 * Assembling the session host: each part of DESIGN made once and given what it needs of the
 * others, so that `host.ts` is only the front of the `SessionHost` seam. Each part is a module
 * of its own (see `host.ts`'s overview).
 * @module
 */
import { messageChannelTurn } from '../channel/next-turn.ts'
import { BUFFER_NAMES, Counters } from '../counters.ts'
import { ConclaveError } from '../errors.ts'
import { type PartyId, partyIdFromBytes } from '../ids.ts'
import { hostBudgets, inboxBudgets } from './budgets.ts'
import { type PostEnvelope, SessionControl } from './control.ts'
import { createMemoryGrantStore } from './grants.ts'
import { PeerGuard } from './guard.ts'
import type { Held } from './held-unit.ts'
import type { SessionHostConfig } from './host-config.ts'
import { Intake } from './intake.ts'
import { noJournal, storeJournal } from './journal.ts'
import { restore } from './journal-restore.ts'
import { resolveLimits } from './limits.ts'
import { LinkEvents } from './link-events.ts'
import { LinkTable } from './link-table.ts'
import { PeerTable } from './peer-table.ts'
import { ProposalBook } from './proposals.ts'
import { ReceivePath } from './receive.ts'
import { Refusals } from './refusals.ts'
import { SessionTable } from './session-table.ts'
import { Signer } from './signer.ts'
import { Streams } from './streams.ts'
import type { HostSink, PartyEvent } from './types.ts'
import { UnknownSessionBuffer } from './unknown-buffer.ts'

/** What the parts need of the front. */
export interface HostHooks {
  stopped(): boolean
  /** The sink, if connected. */
  sink(): HostSink | undefined
  /** The sink (throws `NOT_STARTED` before `connect`). */
  out(): HostSink
  emit(event: PartyEvent): void
  post: PostEnvelope
}

/** The parts of a session host, wired. */
export type HostParts = ReturnType<typeof assembleHost>

/**
 * Make and wire the parts of a host, and take up what its outbox store kept.
 * @throws ConclaveError `INVALID_ARGUMENT` for an epoch not of 16 bytes, or a store whose
 *   units are over today's limits
 */
export function assembleHost(config: SessionHostConfig, hooks: HostHooks) {
  const counter = new Counters()
  const links = new LinkTable()
  const crypto = config.crypto
  const selfBytes = config.identity.publicKey
  const self = partyIdFromBytes(selfBytes)
  const limits = resolveLimits(config.limits)
  const now = config.now ?? Date.now
  const nextTurn = config.nextTurn ?? messageChannelTurn
  const journal = config.outbox ? storeJournal(config.outbox, () => !hooks.stopped()) : noJournal
  const epoch = journal.kept?.epoch ?? config.epoch ?? config.crypto.randomBytes(16)
  const guard = new PeerGuard(limits, now, (peer, points) => counter.penalized(peer, points))
  const budgets = hostBudgets(limits)
  for (const name of BUFFER_NAMES) counter.watch(name, budgets[name])
  if (epoch.length !== 16)
    throw new ConclaveError('INVALID_ARGUMENT', `"epoch" expected 16 bytes, got ${epoch.length}`)
  const peerTable = new PeerTable({
    maxUnacked: limits.maxUnackedPerPeer,
    maxUnackedBytes: limits.maxUnackedBytesPerPeer,
  })
  const sessions = new SessionTable(
    journal,
    () => hooks.stopped(),
    now,
    2 * limits.skewMs,
    (sessionId) => {
      counter.sessionsReleased++
      hooks.emit({ type: 'session', sessionId, state: 'closed' })
    },
  )
  const unknown = new UnknownSessionBuffer<Held>({
    holdMs: limits.unknownSessionHoldMs,
    maxSessions: limits.unknownSessionMaxSessions,
    maxSessionsPerSender: limits.unknownSessionMaxSessionsPerSender,
    budget: budgets.unknownSessions,
    now: now,
    onExpire: (held, sid) =>
      refusals.drop('UNKNOWN_SESSION_EXPIRED', held.from, sid, 'held message of a session never opened'),
  })
  const refusals = new Refusals({
    counter: counter,
    guard: guard,
    links: links,
    penaltyThreshold: limits.penaltyThreshold,
    emit: hooks.emit,
  })
  const refuse: Refusals['refuse'] = (code, peer, sid, reason) => refusals.refuse(code, peer, sid, reason)
  const streams = new Streams({
    limits,
    peers: peerTable,
    journal: journal,
    counter: counter,
    requestLink: (peer) => hooks.out().requestLink(peer),
  })
  const signer = new Signer({
    crypto: crypto,
    identity: config.identity,
    limits,
    now: now,
    nextTurn,
    stopped: () => hooks.stopped(),
    deliver: (to, unit, refs, touched) => streams.deliver(to, unit, refs, touched),
  })
  const inbound = new ReceivePath({
    crypto: crypto,
    limits,
    guard: guard,
    counter: counter,
    peers: peerTable,
    streams: streams,
    unprocessed: budgets.unprocessed,
    session: (sid) => sessions.find(sid),
    refuse,
    cutOff: (peer, reason) => refusals.cutOff(peer, reason),
    accept: (held) => intake.accept(held),
  })
  const grantIssuers = config.grantIssuers ?? new Set<PartyId>()
  const proposalBook = new ProposalBook({
    crypto: crypto,
    self: self,
    limits,
    now: now,
    budget: budgets.unknownSessions,
    issuers: grantIssuers,
    requireGrant: config.requireGrant ?? grantIssuers.size > 0,
    store: config.grantStore ?? createMemoryGrantStore(),
    hasRun: (sid) => sessions.hasRun(sid),
    refuse,
    drop: (code, peer, sid, reason) => refusals.drop(code, peer, sid, reason),
    announce: (proposal) => hooks.emit({ type: 'proposal', proposal }),
  })
  const control = new SessionControl({
    self: self,
    limits,
    now: now,
    counter: counter,
    journal: journal,
    emit: hooks.emit,
    refuse,
    post: hooks.post,
    failed: (s) => sessions.linger(s),
  })
  const intake = new Intake({
    selfBytes: selfBytes,
    now: now,
    skewMs: limits.skewMs,
    counter: counter,
    journal: journal,
    peers: peerTable,
    sessions: sessions,
    unknown: unknown,
    proposals: proposalBook,
    control: control,
    emit: hooks.emit,
    refuse,
    drop: (code, peer, sid, reason) => refusals.drop(code, peer, sid, reason),
  })
  const linkEvents = new LinkEvents({
    crypto: crypto,
    identity: config.identity,
    mode: config.mode ?? 'conclave',
    epoch: epoch,
    roster: config.roster,
    limits,
    reassembly: budgets.reassembly,
    now: now,
    nextTurn,
    counter: counter,
    guard: guard,
    journal: journal,
    peers: peerTable,
    links: links,
    streams: streams,
    inbound: inbound,
    refusals: refusals,
    out: hooks.out,
    sink: hooks.sink,
    emit: hooks.emit,
    stopped: () => hooks.stopped(),
    peerRestarted: (peer) => control.peerRestarted(sessions.values(), peer),
  })
  const kept = journal.kept
  if (kept) {
    restore(kept, {
      self: self,
      epoch: epoch,
      limits,
      now: now(),
      journal,
      peers: peerTable,
      sessions,
      budgets: inboxBudgets(budgets),
    })
  }
  return {
    crypto,
    selfBytes,
    self,
    limits,
    now,
    epoch,
    counter,
    budgets,
    journal,
    peerTable,
    links,
    sessions,
    unknown,
    signer,
    proposalBook,
    control,
    intake,
    linkEvents,
  }
}
