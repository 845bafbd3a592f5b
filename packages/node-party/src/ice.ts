/**
 * The CLI's ICE servers: the fixed list of `--ice-servers`, or, when credentials must be fresh
 * for every connection attempt, an `iceServers` function that re-reads `--ice-servers-file`
 * and mints TURN REST credentials for `--turn-url` with `--turn-secret` (core's
 * `turnRestCredentials`). The transport calls it for every attempt, on both ends of a link; a
 * failure (a file being replaced, unreadable, or malformed) fails that attempt only, which is
 * retried with backoff.
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { ConclaveError, checkIceServers, type IceServersOption, turnRestCredentials } from '@conclave/core'
import type { RunArgs } from './args.ts'

/** Largest ICE servers file read. */
export const MAX_ICE_SERVERS_FILE_BYTES = 64 * 1024

/**
 * Read and check an ICE servers file (a JSON array of RTCIceServer, as `--ice-servers`).
 * @throws ConclaveError `INVALID_ARGUMENT` naming the file: unreadable, over
 *   {@link MAX_ICE_SERVERS_FILE_BYTES}, not JSON, or not a valid list
 */
export async function readIceServersFile(path: string): Promise<RTCIceServer[]> {
  let text: string
  try {
    const { size } = await stat(path)
    if (size > MAX_ICE_SERVERS_FILE_BYTES) {
      throw new Error(`${size} bytes, more than ${MAX_ICE_SERVERS_FILE_BYTES}`)
    }
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `cannot read ICE servers file ${path}: ${(e as Error).message}`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ConclaveError('INVALID_ARGUMENT', `ICE servers file ${path} is not JSON`)
  }
  return checkIceServers(value, path)
}

/**
 * The `iceServers` option of a run: `args.iceServers` itself when nothing must be fresh, else a
 * function giving, per attempt, the file's list (or `args.iceServers`) and a TURN entry with
 * credentials minted now for `id` (the username's part after the expiry). The file is read
 * once here too, so that a bad file is an error before the party meets anyone.
 * @throws ConclaveError `INVALID_ARGUMENT` for a bad ICE servers file
 */
export async function iceServersOption(
  args: Pick<RunArgs, 'iceServers' | 'iceServersFile' | 'turn'>,
  id: string,
): Promise<IceServersOption> {
  const { iceServersFile: file, turn } = args
  if (file === undefined && turn === undefined) return args.iceServers
  if (file !== undefined) await readIceServersFile(file)
  return async () => [
    ...(file !== undefined ? await readIceServersFile(file) : args.iceServers),
    ...(turn ? [await turnRestCredentials({ ...turn, id })] : []),
  ]
}
