/**
 * The FROST flow of an application party, without any UI: propose a DKG or a signing, read what
 * a proposal of another party asks (its params decoded, the key share it needs looked up), join
 * it, and run it with the share kept in a {@link FrostShareStore}. The web demo drives it from
 * its panel; tests drive it on the memory transport.
 *
 * @example
 * ```ts
 * const flow = new FrostFlow(party, new MemoryShareStore())
 * party.on('proposal', ({ proposal }) => {
 *   if (proposal.protocol === FROST_DKG) void flow.joinDkg(proposal).run()
 * })
 * const dkg = await flow.proposeDkg({ participants, threshold: 2 })
 * const share = await dkg.run() // kept in the store too
 * ```
 * @module
 */
import { ConclaveError, type Party, type PartyId, type ProposalInfo, type Session } from '@conclave/core'
import { ProtocolError } from '../errors.ts'
import { FROST_DKG, runFrostDkg } from './dkg.ts'
import type { FrostKeyShare } from './key-share.ts'
import {
  decodeFrostDkgParams,
  decodeFrostSignParams,
  encodeFrostDkgParams,
  encodeFrostSignParams,
  type FrostDkgParams,
  type FrostSignParams,
} from './params.ts'
import type { FrostShareStore } from './share-store.ts'
import { checkSigners, FROST_SIGN, runFrostSign } from './sign.ts'

/** Session options a FROST proposal or join takes. */
export interface FrostSessionOptions {
  /** Round timeout of the session (ms). @default core's session default */
  roundTimeoutMs?: number
}

/** Options of a run. */
export interface FrostRunOptions {
  /** Cancels the run (it then aborts the session for everyone). */
  signal?: AbortSignal
}

/** A DKG this party proposed or joined, ready to run. */
export interface FrostDkgJob {
  readonly session: Session
  readonly params: FrostDkgParams
  /**
   * Run the DKG, keep the share in the flow's store, and resolve to it. The session stays open:
   * the caller closes it.
   * @throws what `runFrostDkg` throws, or the store's error
   */
  run(options?: FrostRunOptions): Promise<FrostKeyShare>
}

/** A signing this party proposed or joined, ready to run. */
export interface FrostSignJob {
  readonly session: Session
  readonly params: FrostSignParams
  /** This party's share of `params.groupPublicKey`. */
  readonly share: FrostKeyShare
  /**
   * Sign, and resolve to the 64-byte Ed25519 signature (checked against the group key). The
   * session stays open: the caller closes it.
   * @throws what `runFrostSign` throws
   */
  run(options?: FrostRunOptions): Promise<Uint8Array>
}

/** What a `frost-sign` proposal of another party asks of this party. */
export interface FrostSignRequest {
  readonly proposal: ProposalInfo
  readonly params: FrostSignParams
  /** This party's share of the key to sign with; undefined when it holds none. */
  readonly share: FrostKeyShare | undefined
}

/** Options of {@link FrostFlow.proposeDkg}. */
export interface ProposeDkgOptions extends FrostSessionOptions {
  /** Every DKG participant, this party included. */
  participants: readonly PartyId[]
  /** Signatures will need `threshold` of the participants (2 ≤ threshold ≤ participants). */
  threshold: number
}

/** Options of {@link FrostFlow.proposeSign}. */
export interface ProposeSignOptions extends FrostSessionOptions {
  /** The key to sign with: this party must hold a share of it. */
  groupPublicKey: string
  message: Uint8Array
  /** Every signer, this party included: key holders, at least the key's threshold. */
  participants: readonly PartyId[]
}

function sessionOptions(o: FrostSessionOptions): FrostSessionOptions {
  return o.roundTimeoutMs === undefined ? {} : { roundTimeoutMs: o.roundTimeoutMs }
}

function expectProtocol(p: ProposalInfo, protocol: string): void {
  if (p?.protocol !== protocol)
    throw new ConclaveError('INVALID_ARGUMENT', `expected a ${protocol} proposal, got ${String(p?.protocol)}`)
}

/** The FROST flow of one party: DKG and signing proposals, joins and runs, over one share store. */
export class FrostFlow {
  /**
   * @param party a started party
   * @param store where DKG runs keep their share and signings find it
   */
  constructor(
    readonly party: Party,
    readonly store: FrostShareStore,
  ) {}

  /**
   * Propose a DKG to `participants`, with the threshold in the proposal's params.
   * @throws ConclaveError `INVALID_ARGUMENT` (a threshold that is not an integer from 2 to the
   *   number of participants), or what `party.propose` throws
   */
  async proposeDkg(o: ProposeDkgOptions): Promise<FrostDkgJob> {
    const n = o.participants.length
    if (o.threshold > n)
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"threshold" expected at most ${n} (the participants), got ${o.threshold}`,
      )
    const params = { threshold: o.threshold }
    const session = await this.party.propose({
      protocol: FROST_DKG,
      params: encodeFrostDkgParams(params),
      participants: o.participants,
      ...sessionOptions(o),
    })
    return this.dkgJob(session, params)
  }

  /**
   * The params of another party's `frost-dkg` proposal.
   * @throws ProtocolError `FROST_PARAMS_INVALID` (malformed, or a threshold above the number of
   *   participants); ConclaveError `INVALID_ARGUMENT` for a proposal of another protocol
   */
  readDkgProposal(p: ProposalInfo): FrostDkgParams {
    expectProtocol(p, FROST_DKG)
    const params = decodeFrostDkgParams(p.params)
    if (params.threshold > p.participants.length)
      throw new ProtocolError(
        'FROST_PARAMS_INVALID',
        `frost-dkg params: threshold ${params.threshold} above the ${p.participants.length} participants`,
      )
    return params
  }

  /**
   * Join another party's `frost-dkg` proposal.
   * @throws what {@link FrostFlow.readDkgProposal} and `party.join` throw (`PROPOSAL_UNKNOWN` …)
   */
  joinDkg(p: ProposalInfo, o: FrostSessionOptions = {}): FrostDkgJob {
    const params = this.readDkgProposal(p)
    return this.dkgJob(this.party.join(p.sessionId, sessionOptions(o)), params)
  }

  /**
   * Propose to sign `message` with the key `groupPublicKey` among `participants`.
   * @throws ProtocolError `FROST_NOT_A_SIGNER` (this party holds no share of the key, or a
   *   participant is no key holder), `FROST_NOT_ENOUGH_SIGNERS`; ConclaveError
   *   `INVALID_ARGUMENT`, or what `party.propose` throws
   */
  async proposeSign(o: ProposeSignOptions): Promise<FrostSignJob> {
    const bytes = encodeFrostSignParams(o)
    const params = decodeFrostSignParams(bytes)
    const share = await this.ownShare(params.groupPublicKey)
    checkSigners(o.participants, share)
    const session = await this.party.propose({
      protocol: FROST_SIGN,
      params: bytes,
      participants: o.participants,
      ...sessionOptions(o),
    })
    return this.signJob(session, params, share)
  }

  /**
   * What another party's `frost-sign` proposal asks: its params, and this party's share of the
   * key (undefined when it holds none).
   * @throws ProtocolError `FROST_PARAMS_INVALID`; ConclaveError `INVALID_ARGUMENT` for a
   *   proposal of another protocol
   */
  async readSignProposal(p: ProposalInfo): Promise<FrostSignRequest> {
    expectProtocol(p, FROST_SIGN)
    const params = decodeFrostSignParams(p.params)
    return { proposal: p, params, share: await this.store.get(params.groupPublicKey) }
  }

  /**
   * Join another party's `frost-sign` proposal (read with {@link FrostFlow.readSignProposal}).
   * @throws ProtocolError `FROST_NOT_A_SIGNER` (no share of the key here, or a participant is
   *   no key holder), `FROST_NOT_ENOUGH_SIGNERS`, `FROST_PARAMS_INVALID`; or what `party.join`
   *   throws
   */
  async joinSign(
    request: FrostSignRequest | ProposalInfo,
    o: FrostSessionOptions = {},
  ): Promise<FrostSignJob> {
    const r = 'proposal' in request ? request : await this.readSignProposal(request)
    const share = r.share ?? (await this.ownShare(r.params.groupPublicKey))
    checkSigners(r.proposal.participants, share)
    const session = this.party.join(r.proposal.sessionId, sessionOptions(o))
    return this.signJob(session, r.params, share)
  }

  private async ownShare(groupPublicKey: string): Promise<FrostKeyShare> {
    const share = await this.store.get(groupPublicKey)
    if (!share)
      throw new ProtocolError(
        'FROST_NOT_A_SIGNER',
        `this party holds no share of ${groupPublicKey.slice(0, 16)}…`,
        {
          party: this.party.id,
        },
      )
    return share
  }

  private dkgJob(session: Session, params: FrostDkgParams): FrostDkgJob {
    return {
      session,
      params,
      run: async (options = {}) => {
        const share = await runFrostDkg(session, { threshold: params.threshold, ...options })
        await this.store.save(share)
        return share
      },
    }
  }

  private signJob(session: Session, params: FrostSignParams, share: FrostKeyShare): FrostSignJob {
    return {
      session,
      params,
      share,
      run: (options = {}) => runFrostSign(session, share, params.message, options),
    }
  }
}
