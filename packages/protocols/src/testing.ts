/**
 * `@conclave/protocols/testing`: a test kit for protocol runs without a network, on core's
 * memory transport. Not for production code.
 * @module
 */
import { type CryptoBackend, generateIdentity, type Party } from '@conclave/core'
import { createParty } from '@conclave/core/host'
import { createMemoryNetwork } from '@conclave/core/transport'

/**
 * Start `n` parties, each with a fresh identity, on one new memory network. The caller stops
 * them (`party.stop()`).
 * @example
 * ```ts
 * const [a, b] = await startMemoryParties(2, createNobleBackend())
 * ```
 */
export async function startMemoryParties(n: number, crypto: CryptoBackend): Promise<Party[]> {
  const net = createMemoryNetwork()
  const parties: Party[] = []
  for (let i = 0; i < n; i++) {
    const identity = (await generateIdentity(crypto)).key
    const p = createParty({ identity, crypto, transport: net.transport() })
    await p.start()
    parties.push(p)
  }
  return parties
}
