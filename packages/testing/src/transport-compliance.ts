/**
 * The transport compliance suite: every transport (memory, webrtc, relay, hybrid) must pass it.
 *
 * ```ts
 * runTransportTests('memory', async () => { … return { a, b, idA, idB, cleanup } })
 * ```
 */
import { type ErrorCode, isConclaveError, type PartyId } from '@conclave/core'
import type { Link, Transport } from '@conclave/core/transport'
import { afterEach, describe, expect, it } from 'vitest'

/** Two transports for two parties, not started yet. */
export interface TransportPair {
  a: Transport
  b: Transport
  idA: PartyId
  idB: PartyId
  /** Called after each test, once both transports are stopped (e.g. to stop a server). */
  cleanup?: () => Promise<void>
}

function nextLink(t: Transport, timeoutMs = 10_000): Promise<Link> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no link announced')), timeoutMs)
    const off = t.onLink((l) => {
      clearTimeout(timer)
      off()
      resolve(l)
    })
  })
}

function collect(link: Link, n: number, timeoutMs = 10_000): Promise<Uint8Array[]> {
  const got: Uint8Array[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} frames`)), timeoutMs)
    link.onMessage((f) => {
      got.push(f)
      if (got.length === n) {
        clearTimeout(timer)
        resolve(got)
      }
    })
  })
}

/** Register the suite for one transport. */
export function runTransportTests(name: string, setup: () => Promise<TransportPair>): void {
  describe(`transport compliance: ${name}`, () => {
    let pair: TransportPair | undefined
    afterEach(async () => {
      if (!pair) return
      await pair.a.stop()
      await pair.b.stop()
      await pair.cleanup?.()
      pair = undefined
    })

    async function linked(): Promise<{ la: Link; lb: Link; p: TransportPair }> {
      const p = await setup()
      pair = p
      await p.a.start(p.idA)
      await p.b.start(p.idB)
      const [la, lb] = await Promise.all([nextLink(p.a), nextLink(p.b), p.a.connect(p.idB)])
      return { la, lb, p }
    }

    it('announces one link on each end, naming the other party, with one initiator', async () => {
      const { la, lb, p } = await linked()
      expect(la.peer).toBe(p.idB)
      expect(lb.peer).toBe(p.idA)
      expect(la.initiator).not.toBe(lb.initiator)
      expect(la.initiator).toBe(p.idA < p.idB)
      expect(la.kind).toBe(lb.kind)
      expect(la.maxMessageSize).toBeGreaterThanOrEqual(256)
    })

    it('carries frames both ways, whole, in order, up to maxMessageSize', async () => {
      const { la, lb } = await linked()
      const sizes = [1, 2, 100, 1000, 16_384, la.maxMessageSize, 7, la.maxMessageSize - 1]
      const frames = sizes.map((n, i) => {
        const f = new Uint8Array(n)
        for (let j = 0; j < n; j++) f[j] = (i * 31 + j) & 0xff
        return f
      })
      const atB = collect(lb, frames.length)
      const atA = collect(la, frames.length)
      for (const f of frames) la.send(f)
      for (const f of frames) lb.send(f)
      expect(await atB).toEqual(frames)
      expect(await atA).toEqual(frames)
    })

    it("carries a burst far past the path's buffer, whole and in order (nothing dropped)", async () => {
      const { la, lb } = await linked()
      // 24 MiB in one go: more than wrtc's 16 MiB channel buffer, which drops what overflows it
      const n = Math.ceil((24 * 1024 * 1024) / la.maxMessageSize)
      const frame = (i: number): Uint8Array => {
        const f = new Uint8Array(la.maxMessageSize)
        new DataView(f.buffer).setUint32(0, i)
        f[f.length - 1] = i & 0xff
        return f
      }
      const got: number[] = []
      let bad = 0
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} frames`)), 60_000)
        lb.onMessage((f) => {
          const i = new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(0)
          if (f.length !== la.maxMessageSize || f[f.length - 1] !== (i & 0xff)) bad++
          got.push(i)
          if (got.length === n) {
            clearTimeout(timer)
            resolve()
          }
        })
      })
      for (let i = 0; i < n; i++) la.send(frame(i))
      await done
      expect(bad).toBe(0)
      expect(got).toEqual(Array.from({ length: n }, (_, i) => i))
    }, 90_000)

    it('does not let the sender alter a frame after send()', async () => {
      const { la, lb } = await linked()
      const f = new Uint8Array([1, 2, 3])
      const got = collect(lb, 1)
      la.send(f)
      f[0] = 9
      expect((await got)[0]).toEqual(new Uint8Array([1, 2, 3]))
    })

    it('refuses a frame over maxMessageSize with FRAME_TOO_LARGE instead of dropping it', async () => {
      const { la } = await linked()
      expect(() => la.send(new Uint8Array(la.maxMessageSize + 1))).toThrowError(
        expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
      )
    })

    it('closes both ends, and refuses sends after close with LINK_CLOSED', async () => {
      const { la, lb } = await linked()
      const closedB = new Promise<ErrorCode>((resolve) => lb.onClose((code) => resolve(code)))
      la.close('LINK_CLOSED', 'test')
      await closedB
      expect(la.closed).toBe(true)
      expect(lb.closed).toBe(true)
      let code: unknown
      try {
        la.send(new Uint8Array(1))
      } catch (e) {
        code = isConclaveError(e) ? e.code : e
      }
      expect(code).toBe('LINK_CLOSED')
    })

    it('keeps one link per pair when both ends connect', async () => {
      const p = await setup()
      pair = p
      await p.a.start(p.idA)
      await p.b.start(p.idB)
      const seenA: Link[] = []
      p.a.onLink((l) => seenA.push(l))
      await Promise.all([p.a.connect(p.idB), p.b.connect(p.idA), p.a.connect(p.idB)])
      await new Promise((r) => setTimeout(r, 200))
      expect(seenA.filter((l) => !l.closed)).toHaveLength(1)
    })

    it('closes its links on stop()', async () => {
      const { la, lb, p } = await linked()
      const closedB = new Promise<void>((resolve) => lb.onClose(() => resolve()))
      await p.a.stop()
      await closedB
      expect(la.closed).toBe(true)
    })
  })
}
