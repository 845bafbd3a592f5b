/**
 * Byte arrays on their way across the Worker boundary: each crosses over an exact, unpooled
 * ArrayBuffer that is transferred, never structured-cloned (a clone of a view copies its whole
 * backing buffer, e.g. an 8 KiB Buffer pool slab for a 20-byte frame).
 * @module
 */
import { exactBuffer } from '../bytes.ts'

/** The transfer list of one message. */
export class TransferList {
  private readonly buffers = new Set<ArrayBuffer>()

  /**
   * Take ownership of `bytes`: its own buffer when the view spans it exactly (the sender's buffer
   * is detached once the message is posted), else an exact copy.
   */
  own(bytes: Uint8Array): Uint8Array {
    const buffer = exactBuffer(bytes)
    this.add(buffer)
    return buffer === bytes.buffer ? bytes : new Uint8Array(buffer)
  }

  /** An exact copy of `bytes`, transferred: for bytes the caller keeps (message bodies, params). */
  copy(bytes: Uint8Array): Uint8Array {
    const copy = bytes.slice()
    this.add(copy.buffer)
    return copy
  }

  private add(buffer: ArrayBuffer): void {
    // an empty (or already detached) buffer gains nothing and a detached one cannot be transferred
    if (buffer.byteLength > 0) this.buffers.add(buffer)
  }

  get size(): number {
    return this.buffers.size
  }

  /** The buffers, each once (a buffer listed twice makes postMessage throw). */
  list(): ArrayBuffer[] {
    return [...this.buffers]
  }
}
