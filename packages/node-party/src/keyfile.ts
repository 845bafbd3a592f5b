/**
 * Identity files: JSON `{ version: 1, partyId, seed, label? }`, created with mode 0600.
 * @module
 */
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import {
  ConclaveError,
  type CryptoBackend,
  exportIdentity,
  generateIdentity,
  type Identity,
  importIdentity,
  parseRoster,
  type Roster,
} from '@conclave/core'

/**
 * Write a new identity to `path` (mode 0600).
 * @throws ConclaveError `INVALID_ARGUMENT` when the file exists and `force` is not set
 */
export async function writeNewIdentity(
  crypto: CryptoBackend,
  path: string,
  label?: string,
  force = false,
): Promise<Identity> {
  const id = await generateIdentity(crypto, { extractable: true })
  const data = await exportIdentity(crypto, id, label)
  try {
    await writeFile(path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: force ? 'w' : 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `${path} exists: refusing to overwrite an identity (use --force)`,
      )
    }
    throw e
  }
  await chmod(path, 0o600)
  return id
}

/**
 * Read an identity file; the key is imported non-extractable.
 * @throws ConclaveError `INVALID_ARGUMENT` (unreadable or malformed), `KEY_INVALID`
 */
export async function readIdentity(
  crypto: CryptoBackend,
  path: string,
): Promise<{ identity: Identity; label?: string; warning?: string }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ConclaveError('INVALID_ARGUMENT', `cannot read key file ${path}: ${(e as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ConclaveError('INVALID_ARGUMENT', `key file ${path} is not JSON`)
  }
  const identity = await importIdentity(crypto, json)
  const mode = (await stat(path)).mode & 0o777
  const label = (json as { label?: unknown }).label
  return {
    identity,
    ...(typeof label === 'string' ? { label } : {}),
    ...(mode & 0o077
      ? { warning: `key file ${path} is readable by others (mode ${mode.toString(8)}): chmod 600 it` }
      : {}),
  }
}

/** Read and parse a roster file. */
export async function readRoster(path: string): Promise<Roster> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (e) {
    throw new ConclaveError('INVALID_ARGUMENT', `cannot read roster ${path}: ${(e as Error).message}`)
  }
  return parseRoster(json)
}
