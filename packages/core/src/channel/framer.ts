/**
 * Packing records into frame plaintexts (coalescing small ones, chunking large units) and
 * reassembling chunked units on receipt, within memory caps.
 * @module
 */
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
    // bytes still to write (chunk headers come on top: a little room for them)
    let left = this.queuedBytes
    const capacity = (): number => Math.min(this.maxPlain, Math.max(64, left + 256))
    let w = new Writer(capacity())
    const emit = (): void => {
      if (w.length > 0) out.push(w.written())
      w = new Writer(capacity())
    }
    for (const rec of this.queue) {
      const size = recordSize(rec)
      if (size <= this.maxPlain) {
        if (w.length + size > this.maxPlain) emit()
        writeRecord(w, rec)
        left -= size
        continue
      }
      if (rec.type !== RecordType.unit)
        throw new ConclaveError('FRAME_TOO_LARGE', `record of ${size} bytes does not fit a frame`)
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
    emit()
    this.queue = []
    this.queuedBytes = 0
    return out
  }
}

/**
 * Reassembles chunked units. One message is in progress at a time per channel (chunks of a
 * unit are sent contiguously on an ordered channel), so memory is at most one message.
 */
export class Reassembler {
  private current: { messageId: number; buf: Uint8Array; filled: number } | undefined

  /**
   * @param maxMessage largest unit accepted (`MESSAGE_TOO_LARGE` beyond)
   * @param maxMemory reassembly memory cap per peer (`REASSEMBLY_OVER_CAP` beyond)
   */
  constructor(
    private readonly maxMessage: number,
    private readonly maxMemory: number,
  ) {}

  /** Bytes held for the message in progress. */
  get bytesHeld(): number {
    return this.current?.buf.length ?? 0
  }

  /**
   * Add a chunk; returns the whole unit when it is complete.
   * @throws ConclaveError `CHUNK_INVALID`, `MESSAGE_TOO_LARGE`, `REASSEMBLY_OVER_CAP`
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
      cur = { messageId: rec.messageId, buf: new Uint8Array(rec.total), filled: 0 }
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
    this.current = undefined
    return cur.buf
  }

  clear(): void {
    this.current = undefined
  }
}
