/**
 * What a party joins: a proposal matches only what the party's own flags or roster describe
 * (issue #16 item 7). A stranger's proposal with another participant count, a participant off
 * the roster, or other protocol params is declined, never joined.
 * @module
 */
import type { PartyId, ProposalInfo } from '@conclave/core'

/** What this party's flags and roster say a session it joins looks like. */
export interface ProposalExpectation {
  /** `--parties N`: exactly this many participants (this party included). */
  parties?: number
  /** The roster's parties: every participant must be one of them. */
  roster?: ReadonlySet<PartyId> | ReadonlyMap<PartyId, unknown>
  /**
   * The params this party would propose (`ProtocolRun.params`): a proposal must carry the same
   * bytes. The FROST params encoding is canonical, so equal bytes mean equal threshold, or equal
   * group key and message. Absent: the params are not checked.
   */
  params?: Uint8Array
}

/** Why a proposal was declined. */
export interface ProposalMismatch {
  /** `PROPOSAL_PARTIES` (count), `PROPOSAL_STRANGER` (off the roster), `PROPOSAL_PARAMS`. */
  code: 'PROPOSAL_PARTIES' | 'PROPOSAL_STRANGER' | 'PROPOSAL_PARAMS'
  reason: string
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Why `p` does not match `e`, or `undefined` when this party may join it. */
export function proposalMismatch(p: ProposalInfo, e: ProposalExpectation): ProposalMismatch | undefined {
  if (e.parties !== undefined && p.participants.length !== e.parties)
    return {
      code: 'PROPOSAL_PARTIES',
      reason: `expected ${e.parties} participants, the proposal has ${p.participants.length}`,
    }
  const stranger = e.roster && p.participants.find((id) => !e.roster!.has(id))
  if (stranger) return { code: 'PROPOSAL_STRANGER', reason: `participant ${stranger} is not on the roster` }
  if (e.params && !sameBytes(p.params ?? new Uint8Array(0), e.params))
    return { code: 'PROPOSAL_PARAMS', reason: 'the proposal params differ from this party’s flags' }
  return undefined
}
