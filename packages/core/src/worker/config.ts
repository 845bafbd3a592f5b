/**
 * The Worker host's configuration both ways: from a party's options to the plain data that
 * crosses ({@link toWorkerHostConfig}), checked on both sides ({@link checkWorkerHostConfig}), and
 * back to the in-thread host's own config inside the Worker ({@link hostConfigInWorker}). Every
 * field of `SessionHostConfig` is carried as it is; only the non-cloneable ones (backend, stores,
 * clock) are replaced, so a field added to the host config reaches the Worker without an edit here.
 * @module
 */
import { describe } from '../bytes.ts'
import type { NextTurn } from '../channel/next-turn.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { Roster } from '../roster.ts'
import type { GrantStore } from '../session/grants.ts'
import type { SessionHostConfig } from '../session/host.ts'
import { resolveLimits } from '../session/limits.ts'
import type {
  WorkerGrantStoreConfig,
  WorkerHostConfig,
  WorkerOutboxConfig,
  WorkerOutboxStore,
} from './types.ts'

const BACKENDS: readonly string[] = ['webcrypto', 'noble'] satisfies CryptoBackend['name'][]
const AEADS: readonly string[] = ['node', 'noble'] satisfies CryptoBackend['aead']['name'][]

/** The longest store database name or file path accepted. */
const MAX_STORE_NAME = 1024

function fail(message: string): never {
  throw new ConclaveError('INVALID_ARGUMENT', message)
}

function checkParties(field: string, value: unknown): void {
  if (value === undefined) return
  if (!(value instanceof Set)) fail(`"${field}" expected a Set of PartyIds, got ${describe(value)}`)
  for (const id of value) parsePartyId(id)
}

function checkStoreName(field: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_STORE_NAME) {
    fail(`"${field}" expected 1-${MAX_STORE_NAME} characters, got ${describe(name)}`)
  }
}

/**
 * Check a {@link WorkerHostConfig} before it crosses (and again inside the Worker).
 * @throws ConclaveError `INVALID_ARGUMENT` naming the field, `INVALID_PARTY_ID` for a roster entry,
 *   and what `resolveLimits` throws for the limits (`INVALID_ARGUMENT`, `LIMIT_INCONSISTENT`)
 */
export function checkWorkerHostConfig(config: WorkerHostConfig): void {
  if (!config || typeof config !== 'object')
    fail(`Worker host config expected an object, got ${describe(config)}`)
  if (!BACKENDS.includes(config.crypto))
    fail(`"crypto" expected 'webcrypto' or 'noble', got ${describe(config.crypto)}`)
  if (!AEADS.includes(config.aead)) fail(`"aead" expected 'node' or 'noble', got ${describe(config.aead)}`)
  const key = config.identity as Partial<SigningKey> | undefined
  if (!key || !(key.publicKey instanceof Uint8Array) || key.publicKey.length !== 32) {
    fail(`"identity" expected a SigningKey with a 32-byte publicKey, got ${describe(key?.publicKey ?? key)}`)
  }
  if (key.backend !== config.crypto) {
    fail(
      `"identity" was made by the ${describe(key.backend)} backend, the Worker builds ${describe(config.crypto)}`,
    )
  }
  if (config.mode !== undefined && typeof config.mode !== 'string')
    fail(`"mode" expected a string, got ${describe(config.mode)}`)
  checkParties('roster', config.roster)
  checkParties('grantIssuers', config.grantIssuers)
  if (config.requireGrant !== undefined && typeof config.requireGrant !== 'boolean')
    fail(`"requireGrant" expected a boolean, got ${describe(config.requireGrant)}`)
  if (config.epoch !== undefined && (!(config.epoch instanceof Uint8Array) || config.epoch.length !== 16))
    fail(`"epoch" expected 16 bytes, got ${describe(config.epoch)}`)
  if (config.now !== undefined) fail('"now" cannot cross into a Worker: the Worker reads its own clock')
  if (config.outbox !== undefined) checkOutboxConfig(config.outbox)
  if (config.grantStore !== undefined) checkGrantStoreConfig(config.grantStore)
  resolveLimits(config.limits)
}

function checkOutboxConfig(outbox: WorkerOutboxConfig): void {
  const expected = `"outbox" expected { indexedDb: string } or { file: string }`
  if (!outbox || typeof outbox !== 'object') fail(`${expected}, got ${describe(outbox)}`)
  const o = outbox as { indexedDb?: unknown; file?: unknown; durability?: unknown }
  const keys = Object.keys(o).filter((k) => k !== 'durability')
  if (keys.length !== 1 || (keys[0] !== 'indexedDb' && keys[0] !== 'file')) {
    fail(`${expected}, got the fields ${JSON.stringify(keys)}`)
  }
  checkStoreName(`outbox.${keys[0]}`, o.indexedDb ?? o.file)
  if (
    o.durability !== undefined &&
    (o.file !== undefined || !['relaxed', 'strict'].includes(o.durability as string))
  ) {
    fail(`"outbox.durability" expected 'relaxed' or 'strict' with indexedDb, got ${describe(o.durability)}`)
  }
}

function checkGrantStoreConfig(store: WorkerGrantStoreConfig): void {
  const keys = store && typeof store === 'object' ? Object.keys(store) : []
  if (keys.length !== 1 || keys[0] !== 'file')
    fail(`"grantStore" expected { file: string }, got ${describe(store)}`)
  checkStoreName('grantStore.file', store.file)
}

/** The roster fields of a host config: its parties, and (from a parsed roster) its grant issuers. */
export function rosterHostConfig(
  roster: Roster | Iterable<PartyId>,
): Pick<SessionHostConfig, 'roster' | 'grantIssuers'> {
  if ('parties' in roster && 'version' in roster) {
    return { roster: new Set(roster.parties.keys()), grantIssuers: roster.grantIssuers }
  }
  return { roster: new Set(roster as Iterable<PartyId>) }
}

/**
 * What {@link toWorkerHostConfig} takes: the Worker config with the backend itself, and a roster
 * as `createParty` takes it (its grant issuers come with it) or as a set of PartyIds.
 */
export type WorkerHostConfigInput = Omit<WorkerHostConfig, 'crypto' | 'aead' | 'roster'> & {
  crypto: CryptoBackend
  roster?: Roster | Iterable<PartyId> | undefined
}

/**
 * The plain-data config of a Worker host: every field as given, the backend and its AEAD as
 * their names (the Worker builds its own), a roster as its parties and grant issuers (an explicit
 * `grantIssuers` wins).
 *
 * @example
 * ```ts
 * const host = await createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: key, roster }))
 * const party = createParty({ identity: key, crypto, transport, host })
 * ```
 */
export function toWorkerHostConfig(input: WorkerHostConfigInput): WorkerHostConfig {
  const { crypto, roster, ...rest } = input
  return {
    ...(roster !== undefined ? rosterHostConfig(roster) : {}),
    ...rest,
    crypto: crypto.name,
    aead: crypto.aead.name,
  }
}

/** What the Worker built from the config's descriptions. */
export interface WorkerHostParts {
  crypto: CryptoBackend
  grantStore?: GrantStore | undefined
  outbox?: WorkerOutboxStore | undefined
  nextTurn?: NextTurn | undefined
}

/** Inside the Worker: the in-thread host's config, every field carried, the built parts in place. */
export function hostConfigInWorker(config: WorkerHostConfig, parts: WorkerHostParts): SessionHostConfig {
  const {
    crypto: _crypto,
    aead: _aead,
    grantStore: _grants,
    outbox: _outbox,
    now: _now,
    nextTurn: _turn,
    ...rest
  } = config
  return {
    ...rest,
    crypto: parts.crypto,
    ...(parts.grantStore ? { grantStore: parts.grantStore } : {}),
    ...(parts.outbox ? { outbox: parts.outbox } : {}),
    ...(parts.nextTurn ? { nextTurn: parts.nextTurn } : {}),
  }
}
