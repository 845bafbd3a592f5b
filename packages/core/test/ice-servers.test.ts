/**
 * The `iceServers` option's checks (`checkIceServers`, one copy for every place that takes a
 * list) and how an attempt gets its list from it (`iceServersFor`): a list at once, a function
 * asked per attempt whose failures are `ICE_SERVERS_UNAVAILABLE`.
 */
import { ConclaveError, checkIceServers, generateIdentity, type PartyId } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { describe, expect, it } from 'vitest'
import { checkIceServersOption, iceServersFor } from '../src/transport/ice-servers.ts'

const turn = { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    return e instanceof ConclaveError ? e.code : `not a ConclaveError: ${String(e)}`
  }
  return undefined
}

describe('checkIceServers', () => {
  it('takes STUN and TURN servers, TURN ones with credentials, and no server at all', () => {
    const list = [
      { urls: 'stun:127.0.0.1:3478' },
      turn,
      { urls: ['turn:127.0.0.1:3478?transport=tcp', 'turns:127.0.0.1:5349'], username: 'u', credential: 'p' },
    ]
    expect(checkIceServers(list)).toBe(list)
    expect(checkIceServers([])).toEqual([])
  })

  it.each([
    ['not an array', 'stun:127.0.0.1'],
    ['an entry that is not an object', [null]],
    ['no urls', [{}]],
    ['an empty urls array', [{ urls: [] }]],
    ['an http URL', [{ urls: 'http://127.0.0.1' }]],
    ['a URL that is not a string', [{ urls: [42] }]],
    ['a TURN server without credentials', [{ urls: 'turn:127.0.0.1:3478' }]],
    ['a TURN server with a credential that is not a string', [{ ...turn, credential: 7 }]],
    ['a TURN URL beside a STUN one, without credentials', [{ urls: ['stun:127.0.0.1', 'turns:127.0.0.1'] }]],
  ])('refuses %s with INVALID_ARGUMENT', (_what, value) => {
    expect(codeOf(() => checkIceServers(value))).toBe('INVALID_ARGUMENT')
  })

  it('names the option and the entry', () => {
    expect(() => checkIceServers([turn, { urls: 'turn:x' }], '--ice-servers')).toThrowError(
      /"--ice-servers"\[1\] \(turn:x\) expected "username" and "credential"/,
    )
  })

  it('takes a function as the option, and refuses what is neither a function nor a list', () => {
    const f = () => []
    expect(checkIceServersOption(f)).toBe(f)
    expect(codeOf(() => checkIceServersOption('stun:x'))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => checkIceServersOption({ urls: 'stun:x' }))).toBe('INVALID_ARGUMENT')
  })
})

describe('iceServersFor: the list of one attempt', async () => {
  const peer: PartyId = (await generateIdentity(createNobleBackend())).id

  it('is the list itself, at once, or none', () => {
    const list = [turn]
    expect(iceServersFor(list, peer)).toBe(list)
    expect(iceServersFor(undefined, peer)).toEqual([])
  })

  it('asks a function on every call, with the peer, sync or async', async () => {
    const asked: PartyId[] = []
    let n = 0
    const sync = (p: PartyId) => {
      asked.push(p)
      return [{ ...turn, username: `u${++n}` }]
    }
    expect(await iceServersFor(sync, peer)).toEqual([{ ...turn, username: 'u1' }])
    expect(await iceServersFor(sync, peer)).toEqual([{ ...turn, username: 'u2' }])
    const later = async (p: PartyId) => {
      asked.push(p)
      await new Promise((r) => setTimeout(r, 5))
      return [turn]
    }
    expect(await iceServersFor(later, peer)).toEqual([turn])
    expect(asked).toEqual([peer, peer, peer])
  })

  it.each([
    [
      'throws',
      () => {
        throw new Error('backend down')
      },
      /function failed: backend down/,
    ],
    ['rejects', () => Promise.reject(new Error('backend down')), /function failed: backend down/],
    ['gives a TURN server without credentials', () => [{ urls: 'turn:127.0.0.1:3478' }], /bad list/],
    ['gives something that is not a list', () => 'turn:127.0.0.1' as unknown as RTCIceServer[], /bad list/],
  ])('fails the attempt with ICE_SERVERS_UNAVAILABLE when the function %s', async (_what, f, message) => {
    // a function that throws at once still gives a promise: the attempt fails the same way
    const got = iceServersFor(f as () => RTCIceServer[], peer)
    expect(got).toBeInstanceOf(Promise)
    const err = await (got as Promise<RTCIceServer[]>).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ICE_SERVERS_UNAVAILABLE' })
    expect((err as Error).message).toMatch(message)
  })
})
