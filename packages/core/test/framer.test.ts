/**
 * The framer: packing records into plaintexts (coalesced, large units chunked), the scratch
 * buffer a flush packs into, and reassembly memory given back and reused.
 */
import { maxPlaintext, Packer, Reassembler } from '@conclave/core/channel'
import { decodeRecords, type Record, RecordType } from '@conclave/core/wire'
import { describe, expect, it } from 'vitest'

const unit = (n: number, fill: number): Record => ({
  type: RecordType.unit,
  unit: new Uint8Array(n).fill(fill),
})

/** The same records queued on a packer. */
function packer(frame: number, records: readonly Record[]): Packer {
  const p = new Packer(frame)
  for (const r of records) p.push(r)
  return p
}

describe('Packer', () => {
  const records: Record[] = [
    unit(100, 1),
    { type: RecordType.ack, seq: 7n },
    unit(150_000, 2),
    unit(3000, 3),
    { type: RecordType.ping, value: 9n },
  ]

  it('drainEach packs the same plaintexts as drain, each in one reused scratch buffer', () => {
    const frame = 64 * 1024
    const expected = packer(frame, records)
      .drain()
      .map((p) => p.slice())
    const seen: Uint8Array[] = []
    const buffers = new Set<ArrayBufferLike>()
    const p = packer(frame, records)
    p.drainEach((plaintext) => {
      expect(plaintext.length).toBeLessThanOrEqual(maxPlaintext(frame))
      buffers.add(plaintext.buffer)
      seen.push(plaintext.slice())
    })
    expect(seen).toEqual(expected)
    expect(seen.length).toBe(3)
    expect(buffers.size).toBe(1)
    expect(p.pending).toBe(0)
    expect(p.pendingBytes).toBe(0)
    // records decode back: the chunks of the large unit in order
    const chunks = seen.flatMap((x) => decodeRecords(x)).filter((r) => r.type === RecordType.chunk)
    expect(chunks.map((c) => (c.type === RecordType.chunk ? c.offset : -1))[0]).toBe(0)
  })

  it('a record that fits no frame is refused before anything is packed, and the queue is kept', () => {
    const p = packer(256, [
      unit(10, 1),
      { type: RecordType.close, code: 'LINK_CLOSED', reason: 'r'.repeat(300) },
    ])
    const out: Uint8Array[] = []
    expect(() => p.drainEach((x) => out.push(x))).toThrow(
      expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
    )
    expect(out).toEqual([])
    expect(p.pending).toBe(2)
  })

  it('a drain started from inside emit packs into buffers of its own', () => {
    const p = packer(1024, [unit(600, 1), unit(600, 2)])
    const outer: Uint8Array[] = []
    const inner: Uint8Array[] = []
    p.drainEach((plaintext) => {
      if (outer.length === 0) {
        p.push(unit(10, 9))
        p.drainEach((x) => inner.push(x))
      }
      outer.push(plaintext.slice())
    })
    expect(outer.length).toBe(2)
    expect(inner.length).toBe(1)
    expect(inner[0]!.buffer).not.toBe(outer[0]!.buffer)
    const got = [...outer, ...inner].flatMap((x) => decodeRecords(x))
    expect(got.map((r) => (r.type === RecordType.unit ? r.unit[0] : -1))).toEqual([1, 2, 9])
  })
})

describe('Reassembler', () => {
  /** The chunk records of one unit of `n` bytes filled with `fill`. */
  function chunks(n: number, fill: number): Extract<Record, { type: typeof RecordType.chunk }>[] {
    const out: Extract<Record, { type: typeof RecordType.chunk }>[] = []
    packer(16 * 1024, [unit(n, fill)]).drainEach((p) => {
      for (const r of decodeRecords(p))
        if (r.type === RecordType.chunk) out.push({ ...r, data: r.data.slice() })
    })
    return out
  }
  function reassemble(r: Reassembler, n: number, fill: number): Uint8Array {
    let whole: Uint8Array | undefined
    for (const c of chunks(n, fill)) whole = r.push(c) ?? whole
    expect(whole?.length).toBe(n)
    return whole!
  }

  it('a released unit lends its memory to the next unit of about its size', () => {
    const r = new Reassembler(4 << 20, 4 << 20)
    const first = reassemble(r, 300_000, 1)
    const kept = reassemble(r, 300_000, 2)
    expect(kept.buffer).not.toBe(first.buffer)
    r.release(first)
    const third = reassemble(r, 290_000, 3)
    expect(third.buffer).toBe(first.buffer)
    expect(third.every((x) => x === 3)).toBe(true)
    // what the earlier unit left past the new one's end is wiped
    expect(new Uint8Array(third.buffer, third.length).every((x) => x === 0)).toBe(true)
    expect(third.buffer.byteLength - third.length).toBeGreaterThan(10_000)
    // the unit not given back is untouched
    expect(kept.every((x) => x === 2)).toBe(true)
  })

  it('a spare is not lent to a much smaller unit, and small units are never kept', () => {
    // a 64 KiB unit (a unit under 256 KiB is never lent a spare, nor kept as one)
    const r0 = new Reassembler(4 << 20, 4 << 20)
    const mid = reassemble(r0, 65_536, 9)
    r0.release(mid)
    expect(reassemble(r0, 20_000, 8).buffer).not.toBe(mid.buffer)
    expect(reassemble(r0, 65_536, 7).buffer).not.toBe(mid.buffer)
    const r = new Reassembler(4 << 20, 4 << 20)
    const big = reassemble(r, 1_000_000, 1)
    r.release(big)
    const small = reassemble(r, 100_000, 2)
    expect(small.buffer).not.toBe(big.buffer)
    const tiny = reassemble(r, 20_000, 3)
    r.release(tiny)
    expect(reassemble(r, 20_000, 4).buffer).not.toBe(tiny.buffer)
    // the big spare is still there for a unit of its size
    expect(reassemble(r, 1_000_000, 5).buffer).toBe(big.buffer)
  })
})
