/**
 * The one token bucket (`src/token-bucket.ts`) and the relay pacer built on it, on an
 * injected clock.
 */
import { describe, expect, it, vi } from 'vitest'
import { errorCode } from '../src/index.ts'
import { TokenBucket } from '../src/token-bucket.ts'
import { RelayPacer } from '../src/transport/relay-pacer.ts'

function clock(start = 1000) {
  let t = start
  return {
    now: () => t,
    advance: (ms: number): void => {
      t += ms
    },
  }
}

describe('TokenBucket', () => {
  it('starts full, takes only what is there, and refills at its rate up to its capacity', () => {
    const c = clock()
    const b = new TokenBucket({ ratePerSecond: 10, capacity: 5, now: c.now })
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(true)
    expect(b.take()).toBe(false)
    expect(b.msUntil(1)).toBe(100)
    c.advance(100)
    expect(b.take()).toBe(true)
    c.advance(60_000)
    expect(b.available).toBe(5)
    expect(b.take(6)).toBe(false)
    expect(b.available).toBe(5)
  })

  it('charge() runs into debt, and the debt is paid back by time', () => {
    const c = clock()
    const b = new TokenBucket({ ratePerSecond: 100, capacity: 10, now: c.now })
    expect(b.charge(30)).toBe(-20)
    expect(b.msUntil(1)).toBe(210)
    c.advance(200)
    expect(b.available).toBe(0)
  })

  it('configure() changes the rate and capacity, keeping the tokens up to the new capacity', () => {
    const c = clock()
    const b = new TokenBucket({ ratePerSecond: 10, capacity: 100, now: c.now })
    b.configure(1000, 4)
    expect(b.available).toBe(4)
    b.take(4)
    c.advance(2)
    expect(b.available).toBe(2)
  })

  it('checks its arguments with INVALID_ARGUMENT', () => {
    for (const o of [
      { ratePerSecond: -1, capacity: 1 },
      { ratePerSecond: Number.POSITIVE_INFINITY, capacity: 1 },
      { ratePerSecond: Number.NaN, capacity: 1 },
      { ratePerSecond: 1, capacity: -1 },
    ]) {
      let code: unknown
      try {
        new TokenBucket(o)
      } catch (e) {
        code = errorCode(e)
      }
      expect(code).toBe('INVALID_ARGUMENT')
    }
  })
})

describe('RelayPacer', () => {
  const pacing = { eventsPerSecond: 10, eventBurst: 2, bytesPerSecond: 1000, byteBurst: 1000 }

  it('lets a burst through, then asks to wait for the scarcer of events and bytes', () => {
    vi.useFakeTimers({ now: 0 })
    try {
      const p = new RelayPacer()
      expect(p.take(10, pacing)).toBe(0)
      expect(p.take(10, pacing)).toBe(0)
      expect(p.take(10, pacing)).toBe(100) // out of events: one comes in 100 ms
      vi.advanceTimersByTime(100)
      expect(p.take(10, pacing)).toBe(0)
      vi.advanceTimersByTime(1000)
      expect(p.take(900, pacing)).toBe(0)
      expect(p.take(600, pacing)).toBe(500) // out of bytes: 500 more in 500 ms
      // a payload over the byte burst waits for a full bucket, never forever
      vi.advanceTimersByTime(2000)
      expect(p.take(5000, pacing)).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('with a rate of 0 is a fixed budget that never refills', () => {
    let t = 0
    const b = new TokenBucket({ ratePerSecond: 0, capacity: 2, now: () => t })
    expect(b.take(2)).toBe(true)
    t += 60_000
    expect(b.take(1)).toBe(false)
    expect(b.msUntil(1)).toBe(Number.POSITIVE_INFINITY)
  })
})
