/**
 * What the session host compliance cases share: the setup a host factory gets, the parties they
 * drive (real `createParty({ host })` over the memory transport), and their clean-up.
 * @module
 */
import {
  type CryptoBackend,
  generateIdentity,
  type Party,
  type PartyEvent,
  type SessionId,
  type SigningKey,
} from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import {
  createParty,
  type SessionHost,
  type SessionHostConfig,
  type WorkerGrantStoreConfig,
  type WorkerOutboxConfig,
} from '@conclave/core/host'
import { createMemoryNetwork, type MemoryNetwork } from '@conclave/core/transport'
import { afterEach } from 'vitest'

/**
 * What a host factory gets: one party's host config, every field of `SessionHostConfig` but the
 * live objects (stores, clock). A store is described instead, as a Worker config describes it:
 * the factory opens it (in-thread) or passes it on (`toWorkerHostConfig(setup)`).
 */
export type SessionHostSetup = Omit<SessionHostConfig, 'grantStore' | 'outbox' | 'now' | 'nextTurn'> & {
  /** A grant store medium (only when the suite was given {@link SessionHostTestOptions.grantStore}). */
  grantStore?: WorkerGrantStoreConfig
  /** An outbox store medium (only when the suite was given {@link SessionHostTestOptions.outbox}). */
  outbox?: WorkerOutboxConfig
}

/** Builds the host under test for one party. */
export type MakeSessionHost = (setup: SessionHostSetup) => Promise<SessionHost>

/** Options of `runSessionHostTests`. */
export interface SessionHostTestOptions {
  /** The parties' crypto backend. @default createNobleBackend() */
  crypto?: () => CryptoBackend
  /**
   * Resolve once a stopped host has released everything it held (its Worker ended, its ports
   * closed); reject or time out when it has not. Checked after every test.
   */
  released?: (host: SessionHost) => Promise<void>
  /**
   * A grant store medium no test used before, that the host factory opens. Without it the grant
   * store case is skipped (a browser Worker has no persistent grant store).
   */
  grantStore?: () => WorkerGrantStoreConfig
  /** An outbox store medium no test used before, that the host factory opens. Without it: skipped. */
  outbox?: () => WorkerOutboxConfig
}

/** One party under test. */
export interface TestParty {
  party: Party
  host: SessionHost
  key: SigningKey
  events: PartyEvent[]
}

/** Host options of one party (its key too, to restart it or to know its id beforehand). */
export type PartySetup = Partial<Omit<SessionHostSetup, 'crypto' | 'identity'>> & { key?: SigningKey }

/** Wait until `cond()` holds. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A random session id. */
export function randomSid(crypto: CryptoBackend): SessionId {
  return [...crypto.randomBytes(32)].map((b) => b.toString(16).padStart(2, '0')).join('') as SessionId
}

/** The parties of a `describe` block, stopped and released after each test. */
export function hostHarness(makeHost: MakeSessionHost, options: SessionHostTestOptions) {
  const backend = options.crypto ?? (() => createNobleBackend())
  const cleanups: (() => Promise<void>)[] = []
  const hosts: SessionHost[] = []

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
    for (const h of hosts.splice(0)) {
      h.stop()
      await options.released?.(h)
    }
  })

  async function makeParty(
    net: MemoryNetwork,
    crypto: CryptoBackend,
    setup: PartySetup = {},
  ): Promise<TestParty> {
    const { key: given, ...config } = setup
    const key = given ?? (await generateIdentity(crypto)).key
    const host = await makeHost({ ...config, crypto, identity: key })
    hosts.push(host)
    const party = createParty({ identity: key, crypto, transport: net.transport(), host })
    const events: PartyEvent[] = []
    party.on('event', (e) => events.push(e))
    await party.start()
    cleanups.push(() => party.stop())
    return { party, host, key, events }
  }

  /** `n` parties with the same host options, sorted by id. */
  async function group(n: number, limits?: SessionHostSetup['limits']) {
    const crypto = backend()
    const net = createMemoryNetwork()
    const ps: TestParty[] = []
    for (let i = 0; i < n; i++) ps.push(await makeParty(net, crypto, limits ? { limits } : {}))
    const ids = ps.map((p) => p.party.id).sort()
    ps.sort((a, b) => (a.party.id < b.party.id ? -1 : 1))
    return { crypto, net, ps, ids }
  }

  return { backend, cleanups, makeParty, group }
}
