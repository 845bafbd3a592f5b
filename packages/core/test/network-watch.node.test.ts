/**
 * Node's source of path hints (`src/room/network-watch.node.ts`, issue #20): the machine's
 * addresses polled, a hint on each change with the addresses new in it, and the `networkPollMs`
 * option checked before anything starts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createNobleBackend } from '../src/entries/crypto.ts'
import { createRoomParty } from '../src/index.node.ts'
import { errorCode, generateIdentity } from '../src/index.ts'
import { checkNetworkPollMs, machineAddresses, watchNodeNetwork } from '../src/room/network-watch.node.ts'
import type { PathHint } from '../src/transport/types.ts'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Node network watch', () => {
  it('hints on each change of the address set, naming the addresses that came', () => {
    let now = new Set(['127.0.0.1', '10.77.0.1'])
    const hints: PathHint[] = []
    const stop = watchNodeNetwork(1000, () => now)((h) => hints.push(h))
    vi.advanceTimersByTime(3000)
    expect(hints).toEqual([]) // nothing changed
    now = new Set(['127.0.0.1']) // the interface went down
    vi.advanceTimersByTime(1000)
    now = new Set(['127.0.0.1', '10.77.0.1']) // and came back
    vi.advanceTimersByTime(1000)
    now = new Set(['127.0.0.1', '10.77.0.3']) // moved
    vi.advanceTimersByTime(1000)
    expect(hints.map((h) => [[...(h.addresses ?? [])], [...(h.added ?? [])]])).toEqual([
      [['127.0.0.1'], []],
      [['127.0.0.1', '10.77.0.1'], ['10.77.0.1']],
      [['127.0.0.1', '10.77.0.3'], ['10.77.0.3']],
    ])
    expect(hints.every((h) => h.reason === 'network')).toBe(true)
    stop()
    now = new Set()
    vi.advanceTimersByTime(5000)
    expect(hints).toHaveLength(3)
  })

  it('skips a tick whose read fails', () => {
    let fail = false
    let now = new Set(['127.0.0.1'])
    const hints: PathHint[] = []
    const stop = watchNodeNetwork(100, () => {
      if (fail) throw new Error('EMFILE')
      return now
    })((h) => hints.push(h))
    fail = true
    vi.advanceTimersByTime(500)
    fail = false
    now = new Set(['127.0.0.1', '::1'])
    vi.advanceTimersByTime(100)
    expect(hints.map((h) => [...(h.added ?? [])])).toEqual([['::1']])
    stop()
  })

  it('reads the addresses of the interfaces that are up, loopback included', () => {
    expect(machineAddresses().has('127.0.0.1')).toBe(true)
  })

  it('refuses a poll period that is not false or an integer from 100, before anything starts', async () => {
    for (const bad of [0, 99, 1.5, -1, true, '1000', 2 ** 31]) {
      let caught: unknown
      try {
        checkNetworkPollMs(bad)
      } catch (e) {
        caught = e
      }
      expect(errorCode(caught)).toBe('INVALID_ARGUMENT')
    }
    for (const good of [undefined, false, 100, 60_000]) checkNetworkPollMs(good)
    vi.useRealTimers()
    const identity = await generateIdentity(createNobleBackend())
    const made = createRoomParty({ signaling: 'http://127.0.0.1:9', room: 'r', identity, networkPollMs: 50 })
    await expect(made).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
