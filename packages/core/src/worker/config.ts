/**
 * The Worker host's configuration: checking it (on both sides of the boundary), building it from
 * a party's options, and the crypto factory the Worker entry files inject.
 * @module
 */
import { describe } from '../bytes.ts'
import { createNobleBackend } from '../crypto/noble.ts'
import type { Aead, CryptoBackend, SigningKey } from '../crypto/types.ts'
import { createWebCryptoBackend } from '../crypto/webcrypto.ts'
import { ConclaveError } from '../errors.ts'
import { type PartyId, parsePartyId } from '../ids.ts'
import type { Roster } from '../roster.ts'
import { type Limits, resolveLimits } from '../session/limits.ts'
import type {
  WorkerCryptoFactory,
  WorkerHostConfig,
  WorkerOutboxConfig,
  WorkerOutboxFactory,
  WorkerOutboxStore,
} from './types.ts'

const BACKENDS: readonly string[] = ['webcrypto', 'noble'] satisfies CryptoBackend['name'][]
const AEADS: readonly string[] = ['node', 'noble'] satisfies Aead['name'][]

/**
 * Check a {@link WorkerHostConfig} before it crosses (and again inside the Worker).
 * @throws ConclaveError `INVALID_ARGUMENT` naming the field, `INVALID_PARTY_ID` for a roster entry
 * @throws TypeError for a bad limit (as `resolveLimits` does)
 */
export function checkWorkerHostConfig(config: WorkerHostConfig): void {
  if (!config || typeof config !== 'object') {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `Worker host config expected an object, got ${describe(config)}`,
    )
  }
  if (!BACKENDS.includes(config.crypto)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"crypto" expected 'webcrypto' or 'noble', got ${describe(config.crypto)}`,
    )
  }
  if (!AEADS.includes(config.aead)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"aead" expected 'node' or 'noble', got ${describe(config.aead)}`,
    )
  }
  const key = config.identity as Partial<SigningKey> | undefined
  if (!key || !(key.publicKey instanceof Uint8Array) || key.publicKey.length !== 32) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"identity" expected a SigningKey with a 32-byte publicKey, got ${describe(key?.publicKey ?? key)}`,
    )
  }
  if (key.backend !== config.crypto) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"identity" was made by the ${describe(key.backend)} backend, the Worker builds ${describe(config.crypto)}`,
    )
  }
  if (config.mode !== undefined && typeof config.mode !== 'string') {
    throw new ConclaveError('INVALID_ARGUMENT', `"mode" expected a string, got ${describe(config.mode)}`)
  }
  if (config.roster !== undefined) {
    if (!Array.isArray(config.roster))
      throw new ConclaveError('INVALID_ARGUMENT', `"roster" expected an array of PartyIds`)
    for (const id of config.roster) parsePartyId(id)
  }
  if (config.epoch !== undefined && (!(config.epoch instanceof Uint8Array) || config.epoch.length !== 16)) {
    throw new ConclaveError('INVALID_ARGUMENT', `"epoch" expected 16 bytes, got ${describe(config.epoch)}`)
  }
  if (config.outbox !== undefined) checkOutboxConfig(config.outbox)
  resolveLimits(config.limits)
}

/** The longest outbox database name or file path accepted. */
const MAX_OUTBOX_NAME = 1024

function checkOutboxConfig(outbox: WorkerOutboxConfig): void {
  const expected = `"outbox" expected { indexedDb: string } or { file: string }`
  if (!outbox || typeof outbox !== 'object')
    throw new ConclaveError('INVALID_ARGUMENT', `${expected}, got ${describe(outbox)}`)
  const o = outbox as { indexedDb?: unknown; file?: unknown; durability?: unknown }
  const keys = Object.keys(o).filter((k) => k !== 'durability')
  if (keys.length !== 1 || (keys[0] !== 'indexedDb' && keys[0] !== 'file')) {
    throw new ConclaveError('INVALID_ARGUMENT', `${expected}, got the fields ${JSON.stringify(keys)}`)
  }
  const name = o.indexedDb ?? o.file
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_OUTBOX_NAME) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"outbox.${keys[0]}" expected 1-${MAX_OUTBOX_NAME} characters, got ${describe(name)}`,
    )
  }
  if (
    o.durability !== undefined &&
    (o.file !== undefined || !['relaxed', 'strict'].includes(o.durability as string))
  ) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"outbox.durability" expected 'relaxed' or 'strict' with indexedDb, got ${describe(o.durability)}`,
    )
  }
}

/** What {@link toWorkerHostConfig} takes: the same fields as `createParty`'s options. */
export interface WorkerHostConfigInput {
  crypto: CryptoBackend
  identity: SigningKey
  mode?: string
  roster?: Roster | Iterable<PartyId>
  epoch?: Uint8Array
  limits?: Partial<Limits>
  /** Where the Worker keeps its outbox store (not a store: the Worker opens its own). */
  outbox?: WorkerOutboxConfig
}

/**
 * The plain-data config of a Worker host, from a party's options: the backend and AEAD become
 * their names (the Worker builds its own), a roster becomes the array of its PartyIds.
 *
 * @example
 * ```ts
 * const host = await createNodeWorkerSessionHost(toWorkerHostConfig({ crypto, identity: key }))
 * const party = createParty({ identity: key, crypto, transport, host })
 * ```
 */
export function toWorkerHostConfig(input: WorkerHostConfigInput): WorkerHostConfig {
  const roster =
    input.roster === undefined
      ? undefined
      : 'parties' in input.roster && 'version' in input.roster
        ? [...input.roster.parties.keys()]
        : [...(input.roster as Iterable<PartyId>)]
  return {
    crypto: input.crypto.name,
    aead: input.crypto.aead.name,
    identity: input.identity,
    ...(input.mode !== undefined ? { mode: input.mode } : {}),
    ...(roster !== undefined ? { roster } : {}),
    ...(input.epoch !== undefined ? { epoch: input.epoch } : {}),
    ...(input.limits !== undefined ? { limits: input.limits } : {}),
    ...(input.outbox !== undefined ? { outbox: input.outbox } : {}),
  }
}

/** How a Worker entry opens each outbox medium it has (see {@link workerOutbox}). */
export interface WorkerOutboxOpeners {
  /** Open the IndexedDB database `name` (browser Workers). */
  indexedDb?: (name: string, durability: 'relaxed' | 'strict' | undefined) => Promise<WorkerOutboxStore>
  /** Open the file at `path` (Node Workers). */
  file?: (path: string) => WorkerOutboxStore | Promise<WorkerOutboxStore>
}

/**
 * The outbox factory of a Worker entry: the medium the config names, among those the entry has.
 *
 * @example
 * ```ts
 * exposeSessionHost(self, workerCrypto({ noble: nobleAead }), {
 *   outbox: workerOutbox({ indexedDb: (name) => openIndexedDbOutboxStore(name) }),
 * })
 * ```
 */
export function workerOutbox(openers: WorkerOutboxOpeners): WorkerOutboxFactory {
  return (config) => {
    const has = Object.keys(openers).join(', ') || 'none'
    if ('indexedDb' in config) {
      if (!openers.indexedDb) {
        throw new ConclaveError(
          'OUTBOX_UNAVAILABLE',
          `this Worker cannot open an IndexedDB outbox store (it opens: ${has})`,
        )
      }
      return openers.indexedDb(config.indexedDb, config.durability)
    }
    if (!openers.file) {
      throw new ConclaveError(
        'OUTBOX_UNAVAILABLE',
        `this Worker cannot open a file outbox store (it opens: ${has})`,
      )
    }
    return openers.file(config.file)
  }
}

/**
 * The crypto factory of a Worker entry: the configured backend (WebCrypto or noble) with the
 * configured AEAD, chosen among those the entry provides.
 *
 * @example
 * ```ts
 * exposeSessionHost(self, workerCrypto({ noble: nobleAead })) // a browser Worker
 * ```
 */
export function workerCrypto(
  aeads: Partial<Record<Aead['name'], Aead>>,
  /** Applied to the WebCrypto backend (the Node Worker adds node:crypto's synchronous Ed25519). */
  enhance: (backend: CryptoBackend) => CryptoBackend = (b) => b,
): WorkerCryptoFactory {
  return (config) => {
    const aead = aeads[config.aead]
    if (!aead) {
      throw new ConclaveError(
        'CRYPTO_UNAVAILABLE',
        `this Worker has no "${config.aead}" AEAD (it has: ${Object.keys(aeads).join(', ') || 'none'})`,
      )
    }
    return config.crypto === 'webcrypto'
      ? enhance(createWebCryptoBackend({ aead }))
      : createNobleBackend({ aead })
  }
}
