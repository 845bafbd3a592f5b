/**
 * One error class family: what the signaling client refuses at its entry points is a
 * `SignalingError`, itself a `ConclaveError`, with a stable code in `ERROR_CODES` — an
 * oversized `signal()` and an oversized `relay()` alike (they threw different classes before).
 */
import { describe, expect, it } from 'vitest'
import {
  createSignalingClient,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type SignalData,
  SignalingError,
} from '../src/entries/signaling.ts'
import { ConclaveError, isErrorCode } from '../src/index.ts'

const to = 'ab'.repeat(32)

/** A client that is never started: its argument checks run before any connection. */
function client() {
  return createSignalingClient({
    url: 'http://127.0.0.1:9',
    publicKey: new Uint8Array(32).fill(7),
    sign: async () => new Uint8Array(64),
  })
}

async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f()
  } catch (e) {
    return e
  }
  throw new Error('nothing thrown')
}

describe('signaling errors: one class family', () => {
  it('an oversized relay() and an oversized signal() throw the same class with the same code', async () => {
    const c = client()
    const data: SignalData = {
      linkId: 'a:b',
      attempt: 1,
      kind: 'offer',
      payload: 'x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES),
    }
    const bySignal = await thrown(() => c.signal('room1', to, data))
    const byRelay = await thrown(() => c.relay('room1', to, new Uint8Array(DEFAULT_MAX_PAYLOAD_BYTES + 1)))
    for (const [e, event] of [
      [bySignal, 'signal'],
      [byRelay, 'relay'],
    ] as const) {
      expect(e).toBeInstanceOf(SignalingError)
      expect(e).toBeInstanceOf(ConclaveError)
      expect((e as SignalingError).code).toBe('PAYLOAD_TOO_LARGE')
      expect((e as SignalingError).details).toEqual({ event, room: 'room1', to })
    }
    expect((byRelay as Error).name).toBe((bySignal as Error).name)
  })

  it('every code a SignalingError carries is a Conclave error code', () => {
    const e = new SignalingError('PEER_NOT_IN_ROOM', 'not here', { event: 'relay' })
    expect(e).toBeInstanceOf(ConclaveError)
    expect(e.name).toBe('SignalingError')
    for (const code of [
      'PEER_NOT_IN_ROOM',
      'PAYLOAD_TOO_LARGE',
      'RATE_LIMITED',
      'TIMEOUT',
      'DISCONNECTED',
      'STOPPED',
    ]) {
      expect(isErrorCode(code)).toBe(true)
    }
  })

  it('a bad argument stays INVALID_ARGUMENT (a ConclaveError)', async () => {
    const e = await thrown(() => client().relay('bad room', to, new Uint8Array(1)))
    expect(e).toBeInstanceOf(ConclaveError)
    expect((e as ConclaveError).code).toBe('INVALID_ARGUMENT')
  })
})
