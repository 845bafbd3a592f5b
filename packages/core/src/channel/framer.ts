/**
 * Packing records into frame plaintexts (coalescing small ones, chunking large units) and
 * reassembling chunked units on receipt, within memory caps: the link's own, and a byte budget
 * shared with the peer's other links and all other peers (charged the buffer a unit is
 * reassembled in, from its first chunk until it is complete).
 * @module
 */
import type { BudgetAccount } from '../byte-budget.ts'
import { Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import {
  CHUNK_HEADER_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_TAG_BYTES,
  RECORD_HEADER_BYTES,
  type Record,
  RecordType,
  recordSize,
  writeRecord,
} from '../wire/frame.ts'

/** Largest plaintext that fits a frame of `maxFrame` bytes. */
export function maxPlaintext(maxFrame: number): number {
  return maxFrame - FRAME_HEADER_BYTES - FRAME_TAG_BYTES
}

/**
 * Coalesces queued records into as few plaintexts as fit `maxFrame`, chunking any unit that
 * does not fit one frame. Chunks of one unit are emitted contiguously and in order.
 */
export class Packer {
  private queue: Record[] = []
  private queuedBytes = 0
  private nextMessageId = 0
  private readonly maxPlain: number

  constructor(maxFrame: number) {
    this.maxPlain = maxPlaintext(maxFrame)
  }

  /** Records waiting to be packed. */
  get pending(): number {
    return this.queue.length
  }

  /** Bytes waiting to be packed. */
  get pendingBytes(): number {
    return this.queuedBytes
  }

  push(rec: Record): void {
    this.queue.push(rec)
    this.queuedBytes += recordSize(rec)
  }

  /**
   * Pack everything queued into plaintexts, each at most `maxPlaintext(maxFrame)` bytes. Each is
   * a view of its own buffer (sized from what is queued, so not copied again; the buffer may be
   * a little longer than the view).
   */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = []
    // sized from the bytes still to write (chunk headers come on top: a little room for them)
    this.pack(
      (left) => new Writer(Math.min(this.maxPlain, Math.max(64, left + 256))),
      (plaintext) => out.push(plaintext),
    )
    return out
  }

  /**
   * Pack everything queued, handing each plaintext to `emit` as soon as it is full. Every one is
   * written into the same scratch buffer and is valid only during its `emit` call (which seals
   * it at once): a flush allocates no plaintext. A call made from inside `emit` packs into
   * buffers of its own.
   */
  drainEach(emit: (plaintext: Uint8Array) => void): void {
    if (this.emitting) {
      for (const p of this.drain()) emit(p)
      return
    }
    this.scratch ??= new Uint8Array(this.maxPlain)
    const scratch = this.scratch
    this.emitting = true
    try {
      this.pack(() => new Writer(scratch), emit)
    } finally {
      this.emitting = false
    }
  }

  private scratch: Uint8Array | undefined
  private emitting = false

  /** The packing loop: `writer(left)` gives an empty writer, `out` takes each full plaintext. */
  private pack(writer: (left: number) => Writer, out: (plaintext: Uint8Array) => void): void {
    // refused before anything is packed: the queue stays as it was
    for (const rec of this.queue) {
      if (rec.type !== RecordType.unit && recordSize(rec) > this.maxPlain)
        throw new ConclaveError('FRAME_TOO_LARGE', `record of ${recordSize(rec)} bytes does not fit a frame`)
    }
    let left = this.queuedBytes
    const queue = this.queue
    this.queue = []
    this.queuedBytes = 0
    let w = writer(left)
    const emit = (): void => {
      if (w.length > 0) out(w.written())
      w = writer(left)
    }
    for (const rec of queue) {
      const size = recordSize(rec)
      if (size <= this.maxPlain) {
        if (w.length + size > this.maxPlain) emit()
        writeRecord(w, rec)
        left -= size
        continue
      }
      if (rec.type !== RecordType.unit) continue // refused above
      const messageId = this.nextMessageId
      this.nextMessageId = (this.nextMessageId + 1) >>> 0
      const total = rec.unit.length
      let offset = 0
      while (offset < total) {
        let room = this.maxPlain - w.length - RECORD_HEADER_BYTES - CHUNK_HEADER_BYTES
        if (room < 64) {
          emit()
          room = this.maxPlain - RECORD_HEADER_BYTES - CHUNK_HEADER_BYTES
        }
        const n = Math.min(room, total - offset)
        writeRecord(w, {
          type: RecordType.chunk,
          messageId,
          total,
          offset,
          data: rec.unit.subarray(offset, offset + n),
        })
        offset += n
      }
      left -= size
    }
    if (w.length > 0) out(w.written())
  }
}

/** Reassembly buffers given back ({@link Reassembler.release}), shared by the channels of a thread. */
const spares: ArrayBuffer[] = []
/** Spare buffers kept at most. */
const MAX_SPARES = 2
/** Largest spare kept (a default-sized batch, 1 MiB, and its framing fit). */
const MAX_SPARE_BYTES = 2 * 1024 * 1024
/**
 * Units of at least this size are reassembled in buffers rounded up to a multiple of
 * {@link SPARE_STEP} (at most a quarter more), so that a spare fits the next unit of about its
 * size; only they are lent spares, and only their buffers are kept.
 */
const MIN_SPARE_BYTES = 256 * 1024
const SPARE_STEP = 64 * 1024

/**
 * Where a unit of `n` bytes (within `cap`) will be reassembled: a spare that fits (at most one
 * step too long) or a new buffer of `size` bytes. Nothing is taken or allocated yet.
 */
function pickBuffer(n: number, cap: number): { spare: number; size: number } {
  if (n < MIN_SPARE_BYTES) return { spare: -1, size: n }
  for (let i = 0; i < spares.length; i++) {
    const b = spares[i]!
    if (b.byteLength >= n && b.byteLength < n + SPARE_STEP) return { spare: i, size: b.byteLength }
  }
  return { spare: -1, size: Math.max(n, Math.min(Math.ceil(n / SPARE_STEP) * SPARE_STEP, cap)) }
}

/** The buffer {@link pickBuffer} chose, as a view of `n` bytes (a spare's bytes past `n` zeroed: they held an earlier unit). */
function takeBuffer(n: number, pick: { spare: number; size: number }): Uint8Array {
  if (pick.spare < 0) return new Uint8Array(new ArrayBuffer(pick.size), 0, n)
  const b = spares.splice(pick.spare, 1)[0]!
  new Uint8Array(b, n).fill(0)
  return new Uint8Array(b, 0, n)
}

/**
 * Reassembles chunked units. One message is in progress at a time per channel (chunks of a
 * unit are sent contiguously on an ordered channel), so memory is at most one message. A unit
 * whose consumer copied everything out of it is given back with `release`, and its memory
 * reassembles a later unit (a stream of batches then allocates no reassembly buffer each).
 */
export class Reassembler {
  private current: { messageId: number; buf: Uint8Array; filled: number; charged: number } | undefined

  /**
   * @param maxMessage largest unit accepted (`MESSAGE_TOO_LARGE` beyond)
   * @param maxMemory reassembly memory cap of this link (`REASSEMBLY_OVER_CAP` beyond)
   * @param budget the peer's account of the reassembly budget shared with its other links and
   *   all peers (`MEMORY_BUDGET_FULL` when a unit's buffer does not fit it)
   */
  constructor(
    private readonly maxMessage: number,
    private readonly maxMemory: number,
    private readonly budget?: BudgetAccount,
  ) {}

  /** Bytes held for the message in progress. */
  get bytesHeld(): number {
    return this.current?.buf.length ?? 0
  }

  /**
   * Add a chunk; returns the whole unit when it is complete.
   * @throws ConclaveError `CHUNK_INVALID`, `MESSAGE_TOO_LARGE`, `REASSEMBLY_OVER_CAP` (a unit over
   *   what this link accepts: the peer's fault), `MEMORY_BUDGET_FULL` (the shared budget is full:
   *   no fault of the peer's)
   */
  push(rec: Extract<Record, { type: typeof RecordType.chunk }>): Uint8Array | undefined {
    if (rec.total > this.maxMessage) {
      throw new ConclaveError(
        'MESSAGE_TOO_LARGE',
        `chunked unit declares ${rec.total} bytes, at most ${this.maxMessage} allowed`,
      )
    }
    if (rec.total > this.maxMemory) {
      throw new ConclaveError(
        'REASSEMBLY_OVER_CAP',
        `chunked unit of ${rec.total} bytes exceeds the reassembly cap of ${this.maxMemory}`,
      )
    }
    let cur = this.current
    if (!cur) {
      if (rec.offset !== 0)
        throw new ConclaveError(
          'CHUNK_INVALID',
          `first chunk of message ${rec.messageId} at offset ${rec.offset}`,
        )
      const pick = pickBuffer(rec.total, this.maxMemory)
      const over = this.budget?.charge(pick.size)
      if (over) {
        throw new ConclaveError(
          'MEMORY_BUDGET_FULL',
          `chunked unit of ${rec.total} bytes: the reassembly budget of ${over === 'sender' ? 'this peer' : 'all peers'} is full`,
          { over },
        )
      }
      cur = { messageId: rec.messageId, buf: takeBuffer(rec.total, pick), filled: 0, charged: pick.size }
      this.current = cur
    } else if (cur.messageId !== rec.messageId || cur.buf.length !== rec.total || cur.filled !== rec.offset) {
      throw new ConclaveError(
        'CHUNK_INVALID',
        `chunk of message ${rec.messageId} at ${rec.offset} out of sequence`,
      )
    }
    cur.buf.set(rec.data, rec.offset)
    cur.filled += rec.data.length
    if (cur.filled < cur.buf.length) return undefined
    // complete: from here the receive path holds it (and charges its own budget)
    this.current = undefined
    this.budget?.release(cur.charged)
    return cur.buf
  }

  /**
   * Give back a unit `push` returned, once nothing holds it or a view of it any more: its memory
   * may be overwritten by the next unit reassembled in this thread.
   */
  release(unit: Uint8Array): void {
    const b = unit.buffer
    if (
      b instanceof ArrayBuffer &&
      b.byteLength >= MIN_SPARE_BYTES &&
      b.byteLength <= MAX_SPARE_BYTES &&
      spares.length < MAX_SPARES &&
      !spares.includes(b)
    ) {
      spares.push(b)
    }
  }

  /** Drop the unit in progress, if any (the channel closed). */
  clear(): void {
    if (this.current) this.budget?.release(this.current.charged)
    this.current = undefined
  }
}
