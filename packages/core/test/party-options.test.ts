/**
 * What `createParty` takes to configure its in-thread host (roster, mode, limits, epoch, stores,
 * clock, next turn) would be silently dropped beside a custom host (a Worker proxy), so it is
 * refused there; and `party.open` is what the host enforces, not what createParty was told.
 */
import { createMemoryOutboxStore, errorCode, generateIdentity, parseRoster } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import {
  createInThreadSessionHost,
  createMemoryGrantStore,
  createParty,
  type PartyOptions,
  type SessionHost,
} from '@conclave/core/host'
import { createMemoryNetwork } from '@conclave/core/transport'
import { describe, expect, it } from 'vitest'

describe('createParty with a custom host', async () => {
  const crypto = createNobleBackend()
  const identity = await generateIdentity(crypto)
  const roster = parseRoster({ version: 1, parties: [{ id: identity.id }] })
  const hostOptions: Partial<PartyOptions> = {
    roster,
    mode: 'other',
    limits: { maxPeers: 3 },
    epoch: new Uint8Array(16),
    grantStore: createMemoryGrantStore(),
    outbox: createMemoryOutboxStore(),
    now: () => 0,
    nextTurn: (fn) => setTimeout(fn, 0),
  }
  for (const [key, value] of Object.entries(hostOptions)) {
    it(`refuses "${key}", which only the in-thread host would read, with INVALID_ARGUMENT`, () => {
      const transport = createMemoryNetwork().transport()
      const host = { open: true } as SessionHost
      let code: unknown
      try {
        createParty({ identity: identity.key, crypto, transport, host, [key]: value })
      } catch (e) {
        code = errorCode(e)
      }
      expect(code).toBe('INVALID_ARGUMENT')
      // without a custom host the same option configures the in-thread host
      expect(() => createParty({ identity: identity.key, crypto, transport, [key]: value })).not.toThrow()
    })
  }

  it('reports open mode as the host enforces it: a host with a roster makes a party that is not open', () => {
    const transport = createMemoryNetwork().transport()
    const withRoster = createInThreadSessionHost({
      crypto,
      identity: identity.key,
      roster: new Set([identity.id]),
    })
    expect(createParty({ identity: identity.key, crypto, transport, host: withRoster }).open).toBe(false)
    const openHost = createInThreadSessionHost({ crypto, identity: identity.key })
    expect(createParty({ identity: identity.key, crypto, transport, host: openHost }).open).toBe(true)
    expect(createParty({ identity: identity.key, crypto, transport, roster }).open).toBe(false)
    withRoster.stop()
    openHost.stop()
  })
})
