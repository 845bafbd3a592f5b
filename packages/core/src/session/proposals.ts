/**
 * Proposals and grants (DESIGN "Sessions and inboxes", Session control): a proposal for a
 * session not opened here is checked (a broadcast, fresh, decodes, derives its sid, from its
 * proposer, naming this party, within the caps of pending proposals — its proposer's share first,
 * then all proposers', in count and in bytes (the unknown-session byte budget, shared with early
 * units) — with the grant this party requires) and kept for the application until it
 * joins or the unknown-session hold passes (a timer forgets it, and its preimage, unasked);
 * joining spends its grant. A proposal made here is checked against the same grant rules.
 * @module
 */
import { type ByteBudget, ENTRY_CHARGE } from '../byte-budget.ts'
import { equalBytes } from '../bytes.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError, type ErrorCode, errorCode } from '../errors.ts'
import { BROADCAST_RECIPIENT, type PartyId, type SessionId } from '../ids.ts'
import { decodeProposal, encodeProposal } from '../wire/proposal.ts'
import { deriveSessionId } from '../wire/sid.ts'
import { checkGrant, type GrantStore } from './grants.ts'
import type { Held } from './held-unit.ts'
import type { Limits } from './limits.ts'
import { SweepTimer } from './sweep-timer.ts'
import type { ProposalInfo } from './types.ts'

/** What the proposal book needs of the host. */
export interface ProposalDeps {
  crypto: CryptoBackend
  self: PartyId
  limits: Limits
  now: () => number
  /** The unknown-session byte budget (shared with early units): what a pending proposal keeps. */
  budget: ByteBudget<PartyId>
  issuers: ReadonlySet<PartyId>
  /** Refuse proposals without a valid grant. */
  requireGrant: boolean
  store: GrantStore
  /** Whether the session ran here already. */
  hasRun(sid: SessionId): boolean
  refuse(code: ErrorCode, peer: PartyId, sessionId: SessionId, reason: string): void
  /** Count and tell a proposal dropped through no provable fault of `peer` (a cap is full). */
  drop(code: ErrorCode, peer: PartyId, sessionId: SessionId, reason: string): void
  /** Tell the application of a proposal it may join. */
  announce(info: ProposalInfo): void
}

/** What a joining party takes of a pending proposal. */
export interface Joined {
  /** The proposer, when the proposal is still pending. */
  proposer: PartyId | undefined
  /** The sid's preimage (the canonical proposal), for evidence. */
  preimage: Uint8Array | undefined
}

/** Pending proposals, and the grant rules for sessions opened here. */
export class ProposalBook {
  private readonly pending = new Map<SessionId, ProposalInfo>()
  /** Canonical proposal bytes (the sid's preimage) of pending proposals, for evidence. */
  private readonly preimages = new Map<SessionId, Uint8Array>()
  /** Pending proposals per proposer. */
  private readonly perProposer = new Map<PartyId, number>()
  private readonly timer: SweepTimer

  constructor(private readonly deps: ProposalDeps) {
    this.timer = new SweepTimer(
      () => Math.min(deps.limits.unknownSessionHoldMs, 1000),
      () => this.sweep(),
      () => this.pending.size > 0,
    )
  }

  /** Pending proposals, and preimages kept (one per pending proposal). */
  get usage(): { pending: number; preimages: number } {
    return { pending: this.pending.size, preimages: this.preimages.size }
  }

  /** A proposal for a session not opened here: check it and tell the application. */
  async receive(held: Held, sid: SessionId): Promise<void> {
    const d = this.deps
    const { unit, peer } = held
    if (d.hasRun(sid) || this.pending.has(sid)) return
    const bad = (why: string): void => d.refuse('PROPOSAL_INVALID', peer, sid, why)
    if (!equalBytes(unit.recipient, BROADCAST_RECIPIENT)) {
      bad('a proposal is a broadcast')
      return
    }
    const skew = Math.abs(Number(unit.timestamp) - (d.now() + held.clockOffsetMs))
    if (skew > d.limits.skewMs) {
      d.refuse('ENVELOPE_STALE', peer, sid, `proposal timestamp ${skew} ms away from the sender's clock`)
      return
    }
    let p: ReturnType<typeof decodeProposal>
    try {
      p = decodeProposal(unit.body)
    } catch (e) {
      bad(`undecodable proposal: ${e instanceof Error ? e.message : String(e)}`)
      return
    }
    if (!p.participants.includes(p.proposer)) {
      bad('the proposer is not one of the participants')
      return
    }
    if (deriveSessionId(p) !== sid) {
      bad('session id does not match the proposal')
      return
    }
    if (p.proposer !== peer) {
      bad('the proposer is not the sender')
      return
    }
    if (!p.participants.includes(d.self)) {
      bad('this party is not a participant')
      return
    }
    this.sweep()
    if (this.overCap(peer, sid)) return
    let grant: ProposalInfo['grant']
    if (p.grant || d.requireGrant) {
      if (!p.grant) {
        d.refuse('GRANT_REQUIRED', peer, sid, 'a proposal without the grant this party requires')
        return
      }
      try {
        const g = await this.check(p.grant, sid, p.participants)
        grant = { grantId: g.grantId, issuer: g.issuer, expiresAt: g.expiresAt, threshold: g.threshold }
      } catch (e) {
        d.refuse(errorCode(e) ?? 'GRANT_INVALID', peer, sid, e instanceof Error ? e.message : String(e))
        return
      }
    }
    if (d.hasRun(sid) || this.pending.has(sid)) return
    // the caps again: other proposals may have been kept while the grant was checked
    if (this.overCap(peer, sid)) return
    const preimage = encodeProposal(p)
    const over = d.budget.charge(peer, proposalCharge(preimage, p.participants.length))
    if (over) {
      const whose = over === 'sender' ? 'this proposer' : 'all senders'
      d.drop('UNKNOWN_SESSION_OVER_CAP', peer, sid, `the unknown-session byte budget of ${whose} is full`)
      return
    }
    const info: ProposalInfo = {
      sessionId: sid,
      protocol: p.protocol,
      params: p.params,
      participants: [...p.participants],
      proposer: p.proposer,
      receivedAt: d.now(),
      ...(grant ? { grant } : {}),
    }
    this.pending.set(sid, info)
    this.preimages.set(sid, preimage)
    this.perProposer.set(peer, (this.perProposer.get(peer) ?? 0) + 1)
    this.timer.arm()
    d.announce(info)
  }

  /** The pending proposals (those older than the unknown-session hold are forgotten). */
  list(): ProposalInfo[] {
    this.sweep()
    return [...this.pending.values()]
  }

  /** Forget the proposals older than the unknown-session hold, and their preimages. */
  sweep(): void {
    const cutoff = this.deps.now() - this.deps.limits.unknownSessionHoldMs
    for (const [sid, p] of this.pending) if (p.receivedAt < cutoff) this.forget(sid)
  }

  /** Stop the expiry timer and forget every pending proposal. */
  clear(): void {
    this.timer.stop()
    for (const sid of [...this.pending.keys()]) this.forget(sid)
    this.pending.clear()
    this.preimages.clear()
    this.perProposer.clear()
  }

  /**
   * Check the grant of a proposal made here (required when this party requires grants) and
   * spend it.
   * @throws ConclaveError `GRANT_REQUIRED` and what `checkGrant` throws
   */
  async spendOwn(
    grant: Uint8Array | undefined,
    sid: SessionId,
    participants: readonly PartyId[],
  ): Promise<void> {
    if (!grant && !this.deps.requireGrant) return
    if (!grant) throw new ConclaveError('GRANT_REQUIRED', 'this party requires a grant for every session')
    const g = await this.check(grant, sid, participants)
    this.deps.store.add(g.grantId, g.expiresAt)
  }

  /**
   * Spend the grant of the pending proposal of `sid` as this party joins it. Without one,
   * joining is allowed when grants are not required or this party proposed the session.
   * @throws ConclaveError `GRANT_EXPIRED`, `GRANT_REPLAYED`, `GRANT_REQUIRED`
   */
  spendJoin(sid: SessionId, proposedHere: boolean): void {
    const grant = this.pending.get(sid)?.grant
    if (grant) {
      if (grant.expiresAt <= this.deps.now())
        throw new ConclaveError('GRANT_EXPIRED', 'the grant expired before joining')
      if (this.deps.store.has(grant.grantId)) {
        throw new ConclaveError('GRANT_REPLAYED', `grant ${grant.grantId} was used before`)
      }
      this.deps.store.add(grant.grantId, grant.expiresAt)
    } else if (this.deps.requireGrant && !proposedHere) {
      throw new ConclaveError('GRANT_REQUIRED', 'this party requires a granted proposal for every session')
    }
  }

  /** What a party joining `sid` keeps of its proposal (now no longer pending). */
  take(sid: SessionId): Joined {
    const proposer = this.pending.get(sid)?.proposer
    const preimage = this.preimages.get(sid)
    this.forget(sid)
    return { proposer, preimage }
  }

  /**
   * Whether `peer`'s share of pending proposals, or the table, is full; if so the proposal is
   * dropped without blame (a valid proposal over a cap is no provable fault of its proposer).
   */
  private overCap(peer: PartyId, sid: SessionId): boolean {
    const { limits, drop } = this.deps
    if ((this.perProposer.get(peer) ?? 0) >= limits.unknownSessionMaxSessionsPerSender)
      drop('UNKNOWN_SESSION_OVER_CAP', peer, sid, 'too many pending proposals from this proposer')
    else if (this.pending.size >= limits.unknownSessionMaxSessions)
      drop('UNKNOWN_SESSION_OVER_CAP', peer, sid, 'too many pending proposals')
    else return false
    return true
  }

  private forget(sid: SessionId): void {
    const p = this.pending.get(sid)
    const preimage = this.preimages.get(sid)
    this.preimages.delete(sid)
    if (!p) return
    if (preimage) this.deps.budget.release(p.proposer, proposalCharge(preimage, p.participants.length))
    this.pending.delete(sid)
    const left = (this.perProposer.get(p.proposer) ?? 0) - 1
    if (left > 0) this.perProposer.set(p.proposer, left)
    else this.perProposer.delete(p.proposer)
  }

  private check(
    grant: Uint8Array,
    sid: SessionId,
    participants: readonly PartyId[],
  ): ReturnType<typeof checkGrant> {
    return checkGrant(this.deps.crypto, grant, {
      sessionId: sid,
      participants,
      self: this.deps.self,
      issuers: this.deps.issuers,
      store: this.deps.store,
      now: this.deps.now(),
    })
  }
}

/**
 * Bytes a pending proposal is charged: its preimage, the decoded copy beside it (params,
 * participant ids as strings, which take about twice their 32 bytes), and its objects.
 */
function proposalCharge(preimage: Uint8Array, participants: number): number {
  return 2 * preimage.length + 32 * participants + ENTRY_CHARGE
}
