/**
 * Proposals and grants (DESIGN "Sessions and inboxes", Session control): a proposal for a
 * session not opened here is checked (a broadcast, fresh, decodes, derives its sid, from its
 * proposer, naming this party, within the cap of pending proposals, with the grant this party
 * requires) and kept for the application until it joins; joining spends its grant. A proposal
 * made here is checked against the same grant rules.
 * @module
 */
import { equalBytes } from '../bytes.ts'
import type { CryptoBackend } from '../crypto/types.ts'
import { ConclaveError, type ErrorCode, errorCode } from '../errors.ts'
import { BROADCAST_RECIPIENT, type PartyId, type SessionId } from '../ids.ts'
import { decodeProposal, encodeProposal } from '../wire/proposal.ts'
import { deriveSessionId } from '../wire/sid.ts'
import { checkGrant, type GrantStore } from './grants.ts'
import type { Held } from './held-unit.ts'
import type { Limits } from './limits.ts'
import type { ProposalInfo } from './types.ts'

/** What the proposal book needs of the host. */
export interface ProposalDeps {
  crypto: CryptoBackend
  self: PartyId
  limits: Limits
  now: () => number
  issuers: ReadonlySet<PartyId>
  /** Refuse proposals without a valid grant. */
  requireGrant: boolean
  store: GrantStore
  /** Whether the session ran here already. */
  hasRun(sid: SessionId): boolean
  refuse(code: ErrorCode, peer: PartyId, sessionId: SessionId, reason: string): void
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

  constructor(private readonly deps: ProposalDeps) {}

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
    if (this.pending.size >= d.limits.unknownSessionMaxSessions) {
      d.refuse('UNKNOWN_SESSION_OVER_CAP', peer, sid, 'too many pending proposals')
      return
    }
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
    this.preimages.set(sid, encodeProposal(p))
    d.announce(info)
  }

  /** The pending proposals (those older than the unknown-session hold are forgotten). */
  list(): ProposalInfo[] {
    const cutoff = this.deps.now() - this.deps.limits.unknownSessionHoldMs
    for (const [sid, p] of this.pending) if (p.receivedAt < cutoff) this.pending.delete(sid)
    return [...this.pending.values()]
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
    this.preimages.delete(sid)
    this.pending.delete(sid)
    return { proposer, preimage }
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
