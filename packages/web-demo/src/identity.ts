/**
 * This tab's identity: an Ed25519 key kept in IndexedDB.
 *
 * - With WebCrypto Ed25519 the key is a non-extractable CryptoKey: IndexedDB stores the key
 *   object itself (structured clone), and no script, this page's included, can read its seed.
 * - With only the noble backend the key is its raw 32-byte seed, and the page says so.
 *
 * One party per tab: tabs of one browser share IndexedDB, so each stored identity is claimed
 * with a Web Lock for the tab's lifetime, and a tab keeps its choice in sessionStorage (which
 * survives a reload of that tab only). A tab reloads into the same identity; a second tab takes
 * another stored identity or makes a new one.
 *
 * Each identity has its outbox store, a database of its own ({@link outboxDatabase}) that the
 * session host's Worker opens: the Web Lock on the identity is also what keeps two tabs from
 * writing one outbox. It is deleted with the identity.
 * @module
 */
import { type CryptoBackend, type PartyId, partyIdFromBytes, type SigningKey } from '@conclave/core'

/** What IndexedDB holds for one identity. */
export interface StoredIdentity {
  version: 1
  partyId: PartyId
  /** The signing key as the backend made it (a CryptoKey handle, or a noble seed). */
  key: SigningKey
  /** Display label (metadata; not bound to the key). */
  label: string
  createdAt: number
}

const DB_NAME = 'conclave-demo'
const STORE = 'identities'
const PREFERRED = 'conclave-demo/party-id'
/** How long a reloading tab waits for its previous document to release its identity's lock. */
const RECLAIM_WAIT_MS = 3000

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

function openDb(): Promise<IDBDatabase> {
  const req = indexedDB.open(DB_NAME, 1)
  req.onupgradeneeded = () => {
    req.result.createObjectStore(STORE, { keyPath: 'partyId' })
  }
  return request(req)
}

async function withStore<T>(
  mode: IDBTransactionMode,
  fn: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await openDb()
  try {
    const tx = db.transaction(STORE, mode)
    const result = await request(fn(tx.objectStore(STORE)))
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
      tx.onabort = () => reject(tx.error)
    })
    return result
  } finally {
    db.close()
  }
}

/** The IndexedDB database of `partyId`'s outbox store (one per identity). */
export function outboxDatabase(partyId: PartyId): string {
  return `conclave-outbox-${partyId}`
}

/** Delete `partyId`'s outbox store; resolves once deleted, or after `waitMs` if something holds it. */
function deleteOutbox(partyId: PartyId, waitMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs)
    const done = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const req = indexedDB.deleteDatabase(outboxDatabase(partyId))
    req.onsuccess = done
    req.onerror = done
  })
}

/**
 * Hold the Web Lock `name` until the page goes away. Resolves true once held, false when another
 * tab holds it (after `waitMs`, when given).
 */
function claimLock(name: string, waitMs = 0): Promise<boolean> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks
  if (!locks) return Promise.resolve(true) // no Web Locks: tabs cannot coordinate, take it
  return new Promise((resolve) => {
    const held = (lock: Lock | null): Promise<void> | undefined => {
      if (!lock) {
        resolve(false)
        return undefined
      }
      resolve(true)
      return new Promise<void>(() => undefined) // released when the document is unloaded
    }
    const options: LockOptions = waitMs > 0 ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true }
    locks.request(name, options, held).catch(() => resolve(false))
  })
}

const ADJECTIVES = ['amber', 'brisk', 'calm', 'deft', 'eager', 'fair', 'glad', 'keen', 'lucid', 'merry']
const ANIMALS = ['otter', 'heron', 'lynx', 'finch', 'koala', 'raven', 'tapir', 'wren', 'bison', 'gecko']

function randomLabel(crypto: CryptoBackend): string {
  const [a = 0, b = 0] = crypto.randomBytes(2)
  return `${ADJECTIVES[a % ADJECTIVES.length]}-${ANIMALS[b % ANIMALS.length]}`
}

/** True when `stored` holds a key that signs for its public key (it survived storage intact). */
async function usable(crypto: CryptoBackend, stored: StoredIdentity): Promise<boolean> {
  try {
    if (stored.version !== 1 || stored.key.backend !== crypto.name) return false
    if (partyIdFromBytes(stored.key.publicKey) !== stored.partyId) return false
    const probe = crypto.randomBytes(32)
    const sig = await crypto.ed25519.sign(stored.key, probe)
    return await crypto.ed25519.verify(stored.key.publicKey, probe, sig)
  } catch {
    return false
  }
}

async function create(crypto: CryptoBackend): Promise<StoredIdentity> {
  // WebCrypto keeps the seed unexportable; noble's key *is* the seed, stored as is
  const key = await crypto.ed25519.generate({ extractable: false })
  const stored: StoredIdentity = {
    version: 1,
    partyId: partyIdFromBytes(key.publicKey),
    key,
    label: randomLabel(crypto),
    createdAt: Date.now(),
  }
  await withStore('readwrite', (s) => s.put(stored))
  return stored
}

/**
 * This tab's identity: the one it had before a reload, else a stored one no other tab holds,
 * else a new one.
 */
export async function claimIdentity(
  crypto: CryptoBackend,
): Promise<{ identity: StoredIdentity; created: boolean }> {
  const all = (await withStore('readonly', (s) => s.getAll() as IDBRequest<StoredIdentity[]>)).sort(
    (a, b) => a.createdAt - b.createdAt,
  )
  const preferred = sessionStorage.getItem(PREFERRED)
  const ordered = [
    ...all.filter((x) => x.partyId === preferred),
    ...all.filter((x) => x.partyId !== preferred),
  ]
  for (const stored of ordered) {
    const wait = stored.partyId === preferred ? RECLAIM_WAIT_MS : 0
    if (!(await claimLock(`${DB_NAME}/${stored.partyId}`, wait))) continue
    if (!(await usable(crypto, stored))) {
      await withStore('readwrite', (s) => s.delete(stored.partyId))
      await deleteOutbox(stored.partyId)
      continue
    }
    sessionStorage.setItem(PREFERRED, stored.partyId)
    return { identity: stored, created: false }
  }
  const fresh = await create(crypto)
  await claimLock(`${DB_NAME}/${fresh.partyId}`)
  sessionStorage.setItem(PREFERRED, fresh.partyId)
  return { identity: fresh, created: true }
}

/**
 * Replace this tab's identity with a new one (the old key and its outbox store are deleted; stop
 * the party first, so that its Worker lets the store go). The caller reloads the page, which then
 * claims the new identity.
 */
export async function replaceIdentity(crypto: CryptoBackend, current: PartyId): Promise<StoredIdentity> {
  const fresh = await create(crypto)
  await withStore('readwrite', (s) => s.delete(current))
  await deleteOutbox(current)
  sessionStorage.setItem(PREFERRED, fresh.partyId)
  return fresh
}
