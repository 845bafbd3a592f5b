/**
 * A store given to `createParty` configures its in-thread host: with a custom host (a Worker
 * proxy) it would be silently dropped, so it is refused instead.
 */
import {
  createMemoryGrantStore,
  createMemoryNetwork,
  createNobleBackend,
  createParty,
  errorCode,
  generateIdentity,
  type SessionHost,
} from '@conclave/core'
import { describe, expect, it } from 'vitest'

describe('createParty with a custom host', () => {
  it('refuses a grantStore (and an outbox) it could not pass on, with INVALID_ARGUMENT', async () => {
    const crypto = createNobleBackend()
    const identity = (await generateIdentity(crypto)).key
    const transport = createMemoryNetwork().transport()
    const host = {} as SessionHost
    let code: unknown
    try {
      createParty({ identity, crypto, transport, host, grantStore: createMemoryGrantStore() })
    } catch (e) {
      code = errorCode(e)
    }
    expect(code).toBe('INVALID_ARGUMENT')
    expect(() =>
      createParty({ identity, crypto, transport, grantStore: createMemoryGrantStore() }),
    ).not.toThrow()
  })
})
