/**
 * Signing and batching (DESIGN "Envelope", Batch, *When*): the first send of an event-loop turn
 * is signed and handed to delivery at once, alone; what follows in the same turn is queued and
 * signed on the next turn, where direct envelopes to one peer form a batch signed once over
 * their digests, and a broadcast (or an envelope alone) is signed by itself. Per peer, call
 * order is kept; signed units reach delivery in the order they were queued.
 * @module
 */
import { equalBytes } from '../bytes.ts'
import type { NextTurn } from '../channel/next-turn.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import { BROADCAST_RECIPIENT, type PartyId } from '../ids.ts'
import {
  type BatchItem,
  batchSignedBytes,
  batchWireBytes,
  encodeBatch,
  encodeUnit,
  envelopeSignedBytes,
  MAX_BATCH_UNITS,
} from '../wire/envelope.ts'
import { batchItemDigests, signNow } from './batch.ts'
import type { JournalStreamRef } from './journal.ts'
import type { Limits } from './limits.ts'
import type { HostLink } from './link-table.ts'

/** A unit waiting for its signature. */
interface PendingUnit extends BatchItem {
  to: readonly PartyId[]
  ref: JournalStreamRef
  onUnit: ((unit: Uint8Array) => void) | undefined
  resolve: () => void
  reject: (e: unknown) => void
}

/** Units signed together: one alone, or a batch of direct units to one peer. */
interface SignJob {
  items: PendingUnit[]
  /** Payload bytes in the job (a batch closes at `limits.maxBatchBytes`). */
  bytes: number
  batch: boolean
}

/** What the signer needs of the host. */
export interface SignerDeps {
  crypto: CryptoBackend
  identity: SigningKey
  limits: Limits
  now: () => number
  nextTurn: NextTurn
  stopped: () => boolean
  /**
   * Hand a signed unit to the delivery streams of `to`; links it queued frames on go in
   * `touched` (flushed once the turn's jobs are delivered).
   */
  deliver(
    to: readonly PartyId[],
    unit: Uint8Array,
    refs: readonly JournalStreamRef[],
    touched: Set<HostLink>,
  ): void
}

/** Signs queued payloads, batching what one turn queues for one peer. */
export class Signer {
  private pending: PendingUnit[] = []
  private scheduled = false
  /** Jobs signing asynchronously (a WebCrypto backend): later jobs are delivered after them. */
  private signing = 0
  private chain: Promise<void> = Promise.resolve()

  constructor(private readonly deps: SignerDeps) {}

  /**
   * Queue a payload for `recipient`; it settles once the signed unit is handed to delivery.
   * `onUnit` sees the signed unit (a broadcast keeps it for the echo step).
   */
  dispatch(
    payload: Uint8Array,
    recipient: Uint8Array,
    to: readonly PartyId[],
    ref: JournalStreamRef,
    onUnit?: (unit: Uint8Array) => void,
  ): Promise<void> {
    const timestamp = BigInt(Math.floor(this.deps.now()))
    return new Promise<void>((resolve, reject) => {
      const item: PendingUnit = { payload, recipient, timestamp, to, ref, onUnit, resolve, reject }
      if (this.scheduled) {
        this.pending.push(item)
        return
      }
      // the first send of this turn is signed and sent now, alone: latency never waits for a
      // batch; what follows it in the same turn queues up and is signed together next turn
      this.scheduled = true
      this.deps.nextTurn(() => this.signPending())
      this.runJobs([{ items: [item], bytes: payload.length, batch: false }])
    })
  }

  /**
   * Sign what was queued since the last turn: direct units that wait for the same peer travel
   * as one batch; a unit alone, and every broadcast, is signed by itself (consistent broadcast
   * keeps single signatures as evidence). Jobs are delivered in order after the ones before.
   */
  private signPending(): void {
    const items = this.pending
    this.pending = []
    const limits = this.deps.limits
    const jobs: SignJob[] = []
    const open = new Map<PartyId, SignJob>()
    const maxUnits = Math.min(limits.maxBatchUnits, MAX_BATCH_UNITS)
    // a batch is one unit on the wire: it must also fit the largest unit a channel takes
    // (maxMessageBytes + 1 KiB), counted with its framing (batchWireBytes)
    const maxWire = limits.maxMessageBytes + 1024
    for (const it of items) {
      const peer = it.to.length === 1 ? it.to[0]! : undefined
      if (peer !== undefined && maxUnits >= 2 && !equalBytes(it.recipient, BROADCAST_RECIPIENT)) {
        let job = open.get(peer)
        if (
          !job ||
          job.items.length >= maxUnits ||
          job.bytes + it.payload.length > limits.maxBatchBytes ||
          batchWireBytes(job.items.length + 1, job.bytes + it.payload.length) > maxWire
        ) {
          job = { items: [], bytes: 0, batch: true }
          jobs.push(job)
          open.set(peer, job)
        }
        job.items.push(it)
        job.bytes += it.payload.length
        continue
      }
      // what follows for these peers goes after this unit
      for (const p of it.to) open.delete(p)
      jobs.push({ items: [it], bytes: it.payload.length, batch: false })
    }
    // still scheduled while these are delivered: a send made from inside (an event listener)
    // queues behind them instead of jumping ahead, and is signed on the next turn
    try {
      this.runJobs(jobs)
    } finally {
      this.scheduled = false
      if (this.pending.length > 0) {
        this.scheduled = true
        this.deps.nextTurn(() => this.signPending())
      }
    }
  }

  /**
   * Sign jobs and deliver them in order, after the jobs before them. With a synchronous signer
   * and nothing still signing, that happens now, on this stack; otherwise on the send chain.
   */
  private runJobs(jobs: SignJob[]): void {
    if (jobs.length === 0) return
    const signed = jobs.map((job): Uint8Array | Promise<Uint8Array> | Error => {
      try {
        return this.sign(job)
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e))
      }
    })
    if (this.signing === 0 && signed.every((u) => !(u instanceof Promise))) {
      this.deliverJobs(jobs, signed as (Uint8Array | Error)[])
      return
    }
    this.signing++
    const done = this.chain.then(async () => {
      const units: (Uint8Array | Error)[] = []
      for (const u of signed) {
        try {
          units.push(await u)
        } catch (e) {
          units.push(e instanceof Error ? e : new Error(String(e)))
        }
      }
      this.deliverJobs(jobs, units)
    })
    this.chain = done
      .catch(() => undefined)
      .finally(() => {
        this.signing--
      })
  }

  /** Hand signed jobs to delivery, settle their sends, and frame what they queued at once. */
  private deliverJobs(jobs: readonly SignJob[], units: readonly (Uint8Array | Error)[]): void {
    const touched = new Set<HostLink>()
    for (const [i, job] of jobs.entries()) {
      try {
        const unit = units[i]!
        if (unit instanceof Error) throw unit
        // stopped while signing: not journaled, so not sent (a resumed session sends it again)
        if (this.deps.stopped())
          throw new ConclaveError('SESSION_CLOSED', 'the party stopped before the unit was queued')
        for (const it of job.items) it.onUnit?.(unit)
        this.deps.deliver(
          job.items[0]!.to,
          unit,
          job.items.map((it) => it.ref),
          touched,
        )
        for (const it of job.items) it.resolve()
      } catch (e) {
        for (const it of job.items) it.reject(e)
      }
    }
    // frame what this queued now, rather than one more turn later
    for (const link of touched) if (!link.channel.isClosed) link.channel.flush()
  }

  /** The unit of a job: a single envelope, or a batch when the job holds several. */
  private sign(job: SignJob): Uint8Array | Promise<Uint8Array> {
    const { crypto, identity: key } = this.deps
    if (job.items.length === 1) {
      const it = job.items[0]!
      const sig = signNow(crypto, key, envelopeSignedBytes(it.payload, it.recipient, it.timestamp))
      return sig instanceof Uint8Array
        ? encodeUnit(it.payload, it.recipient, it.timestamp, sig)
        : sig.then((s) => encodeUnit(it.payload, it.recipient, it.timestamp, s))
    }
    // the digests are over the envelopes' own signed bytes, whatever form the batch travels in
    const sig = signNow(crypto, key, batchSignedBytes(batchItemDigests(crypto, job.items)))
    const fill = (s: Uint8Array): Uint8Array => encodeBatch(job.items, s)
    return sig instanceof Uint8Array ? fill(sig) : sig.then(fill)
  }
}
