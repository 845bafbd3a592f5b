/**
 * Byte helpers and the binary encoding conventions of DESIGN: big-endian integers, `bytes32`,
 * `str16` (u16 length + UTF-8), `bytes32len` (u32 length + bytes). Decoders refuse short input
 * and trailing bytes, each with its own code.
 * @module
 */
import { ConclaveError } from './errors.ts'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * Lowercase hex of `bytes`, as one flat string: built with `+=` it would be a rope of one V8
 * cons-string per byte (~1 KiB for a PartyId), kept as such in every map it keys.
 */
export function toHex(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length)
  for (let i = 0; i < bytes.length; i++) parts[i] = HEX[bytes[i]!]!
  return parts.join('')
}

/**
 * Parse lowercase or uppercase hex.
 * @throws ConclaveError `INVALID_ARGUMENT` on odd length or a non-hex character.
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ConclaveError('INVALID_ARGUMENT', `expected an even-length hex string, got ${describe(hex)}`)
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** Concatenate byte arrays into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** Constant-time-in-length equality (no early exit on the first difference). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Lexicographic byte order: negative when a < b. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** UTF-8 encode. */
export const utf8 = (s: string): Uint8Array => textEncoder.encode(s)
const textEncoder = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the string (the default would drop it, so a mode of
// BOM + "conclave" would match "conclave")
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * An exact, unpooled ArrayBuffer holding a copy of `bytes` (or `bytes`' own buffer when it already
 * spans it exactly): what may be transferred across a Worker boundary.
 */
export function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer
  }
  return bytes.slice().buffer as ArrayBuffer
}

/** Short description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`
  if (typeof value === 'string')
    return value.length > 40 ? `string of ${value.length} chars` : JSON.stringify(value)
  if (value === null) return 'null'
  return typeof value
}

/**
 * Check that `value` is a Uint8Array of the given length.
 * @throws ConclaveError `INVALID_ARGUMENT` naming the argument, what was expected and what came.
 */
export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ConclaveError('INVALID_ARGUMENT', `"${name}" expected Uint8Array, got ${describe(value)}`)
  }
  if (length !== undefined && value.length !== length) {
    throw new ConclaveError('INVALID_ARGUMENT', `"${name}" expected ${length} bytes, got ${value.length}`)
  }
}

const U64_MAX = (1n << 64n) - 1n

/** Growable big-endian writer. */
export class Writer {
  private buf: Uint8Array
  private view: DataView
  private len = 0

  /**
   * @param initial capacity of a new buffer, or a buffer to write into from its start (reused
   *   memory: it grows into a new buffer when it is too small)
   */
  constructor(initial: number | Uint8Array = 256) {
    this.buf = typeof initial === 'number' ? new Uint8Array(initial) : initial
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return
    let cap = Math.max(this.buf.length * 2, 64)
    while (cap < this.len + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  /** One byte. */
  u8(v: number): this {
    this.reserve(1)
    this.view.setUint8(this.len, v)
    this.len += 1
    return this
  }

  /**
   * A big-endian u16.
   * @throws ConclaveError `INVALID_ARGUMENT` when `v` is not an integer in [0, 65535]
   */
  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff)
      throw new ConclaveError('INVALID_ARGUMENT', `u16 out of range: ${v}`)
    this.reserve(2)
    this.view.setUint16(this.len, v)
    this.len += 2
    return this
  }

  /**
   * A big-endian u32.
   * @throws ConclaveError `INVALID_ARGUMENT` when `v` is not an integer in [0, 2³² − 1]
   */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new ConclaveError('INVALID_ARGUMENT', `u32 out of range: ${v}`)
    }
    this.reserve(4)
    this.view.setUint32(this.len, v)
    this.len += 4
    return this
  }

  /**
   * A big-endian u64.
   * @throws ConclaveError `INVALID_ARGUMENT` when `v` is outside [0, 2⁶⁴ − 1]
   */
  u64(v: bigint | number): this {
    const b = BigInt(v)
    if (b < 0n || b > U64_MAX) throw new ConclaveError('INVALID_ARGUMENT', `u64 out of range: ${v}`)
    this.reserve(8)
    this.view.setBigUint64(this.len, b)
    this.len += 8
    return this
  }

  /** Raw bytes, optionally checked to be exactly `length` long. */
  bytes(b: Uint8Array, length?: number): this {
    if (length !== undefined && b.length !== length) {
      throw new ConclaveError('INVALID_ARGUMENT', `expected ${length} bytes, got ${b.length}`)
    }
    this.reserve(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  /** `str16`: u16 length and UTF-8 bytes. */
  str16(s: string): this {
    const b = utf8(s)
    return this.u16(b.length).bytes(b)
  }

  /** `bytes16len`: u16 length and bytes. */
  bytes16len(b: Uint8Array): this {
    return this.u16(b.length).bytes(b)
  }

  /** `bytes32len`: u32 length and bytes. */
  bytes32len(b: Uint8Array): this {
    return this.u32(b.length).bytes(b)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len
  }

  /**
   * The written bytes as a view of the writer's buffer (no copy; it may have spare capacity
   * behind it): for bytes consumed at once, such as a plaintext about to be sealed.
   */
  written(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }

  /**
   * The written bytes, exactly: the buffer itself when it was sized exactly (no copy; the
   * writer is done with it), else a fresh copy. Either way an unshared, exact ArrayBuffer.
   */
  finish(): Uint8Array {
    return this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len)
  }
}

/** Big-endian reader that refuses short input and (on `end()`) trailing bytes. */
export class Reader {
  private off = 0
  private readonly view: DataView

  /** Read `buf` from its start (a view: the reader never copies or changes it). */
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.off
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.buf.length - this.off
  }

  private need(n: number, what: string): void {
    if (this.off + n > this.buf.length) {
      throw new ConclaveError(
        'DECODE_SHORT_INPUT',
        `short input reading ${what}: need ${n} bytes at offset ${this.off}, have ${this.buf.length - this.off}`,
      )
    }
  }

  /**
   * One byte. `what` (here and below) names the field in the error of a short input.
   * @throws ConclaveError `DECODE_SHORT_INPUT` when no byte is left
   */
  u8(what = 'u8'): number {
    this.need(1, what)
    return this.view.getUint8(this.off++)
  }

  /** A big-endian u16. @throws ConclaveError `DECODE_SHORT_INPUT` */
  u16(what = 'u16'): number {
    this.need(2, what)
    const v = this.view.getUint16(this.off)
    this.off += 2
    return v
  }

  /** A big-endian u32. @throws ConclaveError `DECODE_SHORT_INPUT` */
  u32(what = 'u32'): number {
    this.need(4, what)
    const v = this.view.getUint32(this.off)
    this.off += 4
    return v
  }

  /** A big-endian u64. @throws ConclaveError `DECODE_SHORT_INPUT` */
  u64(what = 'u64'): bigint {
    this.need(8, what)
    const v = this.view.getBigUint64(this.off)
    this.off += 8
    return v
  }

  /** `n` bytes as a view into the input (no copy). */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what)
    const v = this.buf.subarray(this.off, this.off + n)
    this.off += n
    return v
  }

  /**
   * `str16`: u16 length and UTF-8 bytes.
   * @throws ConclaveError `DECODE_SHORT_INPUT`, `DECODE_BAD_UTF8`
   */
  str16(what = 'str16'): string {
    const n = this.u16(what)
    const b = this.bytes(n, what)
    try {
      return textDecoder.decode(b)
    } catch {
      throw new ConclaveError('DECODE_BAD_UTF8', `${what} is not valid UTF-8`)
    }
  }

  /** `bytes16len`: u16 length and bytes (a view). @throws ConclaveError `DECODE_SHORT_INPUT` */
  bytes16len(what = 'bytes16len'): Uint8Array {
    return this.bytes(this.u16(what), what)
  }

  /**
   * `bytes32len`: u32 length and bytes (a view), the length at most `max`.
   * @throws ConclaveError `DECODE_SHORT_INPUT`, `DECODE_BAD_LENGTH`
   */
  bytes32len(what = 'bytes32len', max = Number.POSITIVE_INFINITY): Uint8Array {
    const n = this.u32(what)
    if (n > max)
      throw new ConclaveError('DECODE_BAD_LENGTH', `${what} declares ${n} bytes, at most ${max} allowed`)
    return this.bytes(n, what)
  }

  /** The rest of the input. */
  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest')
  }

  /** @throws ConclaveError `DECODE_TRAILING_BYTES` when input remains. */
  end(what = 'input'): void {
    if (this.off !== this.buf.length) {
      throw new ConclaveError(
        'DECODE_TRAILING_BYTES',
        `${this.buf.length - this.off} trailing bytes after ${what}`,
      )
    }
  }
}
