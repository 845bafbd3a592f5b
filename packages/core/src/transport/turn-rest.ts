/**
 * Time-limited TURN credentials in the TURN REST scheme that coturn checks with
 * `use-auth-secret` + `static-auth-secret` (draft-uberti-behave-turn-rest-00): the username is
 * `<expiry, unix seconds>:<id>` (or the expiry alone), the credential
 * `base64(HMAC-SHA1(secret, username))`. coturn recomputes the HMAC and refuses the credential
 * once its expiry has passed, so a party minting them (the CLI's `--turn-secret`) does so for
 * every connection attempt, through the `iceServers` function (`ice-servers.ts`). HMAC-SHA1 is
 * WebCrypto's (`crypto.subtle`), in browsers and Node alike. The secret is the TURN server's:
 * whoever holds it can mint credentials for anyone, so it belongs on a backend or a trusted
 * headless party, never in a page.
 * @module
 */
import { describe } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'

/** Options of {@link turnRestCredentials}. */
export interface TurnRestOptions {
  /** The TURN server's `turn:` / `turns:` URLs (one, or several of the same server). */
  urls: string | string[]
  /** coturn's `static-auth-secret`. */
  secret: string
  /** How long the credential is valid, from now. At most 7 days. */
  ttlSeconds: number
  /** Who the credential is for (after the expiry in the username; shows in coturn's log). @default none */
  id?: string
}

/** Longest validity accepted: 7 days (the draft recommends one day). */
export const TURN_REST_MAX_TTL_SECONDS = 7 * 24 * 3600
const MAX_ID = 128
const TURN_URL = /^turns?:/

/**
 * Mint a TURN REST credential valid for `ttlSeconds` from now, as one ICE server entry.
 * @throws ConclaveError `INVALID_ARGUMENT` for a URL that is not `turn:`/`turns:`, an empty
 *   secret, a ttl that is not an integer from 1 to {@link TURN_REST_MAX_TTL_SECONDS}, or an id
 *   that is empty or over 128 characters; `CRYPTO_UNAVAILABLE` without WebCrypto
 * @example
 * ```ts
 * const iceServers = async () => [
 *   await turnRestCredentials({ urls: 'turn:127.0.0.1:3478', secret, ttlSeconds: 3600 }),
 * ]
 * await joinRoom({ signaling, room, identity, iceServers, iceTransportPolicy: 'relay' })
 * ```
 */
export async function turnRestCredentials(options: TurnRestOptions): Promise<RTCIceServer> {
  const { urls, secret, ttlSeconds, id } = checkTurnRestOptions(options)
  const expiry = Math.floor(Date.now() / 1000) + ttlSeconds
  const username = id === undefined ? String(expiry) : `${expiry}:${id}`
  const credential = await hmacSha1Base64(secret, username)
  return { urls: typeof options.urls === 'string' ? options.urls : [...urls], username, credential }
}

function checkTurnRestOptions(o: TurnRestOptions): TurnRestOptions & { urls: string[] } {
  if (typeof o !== 'object' || o === null) {
    fail(`turnRestCredentials expected { urls, secret, ttlSeconds }, got ${describe(o)}`)
  }
  const urls = typeof o.urls === 'string' ? [o.urls] : o.urls
  if (!Array.isArray(urls) || urls.length === 0) {
    fail(`"urls" expected a turn: URL or a non-empty array of them, got ${describe(o.urls)}`)
  }
  for (const url of urls) {
    if (typeof url !== 'string' || !TURN_URL.test(url))
      fail(`"urls" expected turn: or turns: URLs, got ${describe(url)}`)
  }
  // never echo the secret: describe() gives only its type or length
  if (typeof o.secret !== 'string' || o.secret.length === 0) {
    fail(
      `"secret" expected a non-empty string, got ${typeof o.secret === 'string' ? 'an empty one' : describe(o.secret)}`,
    )
  }
  const ttl = o.ttlSeconds
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > TURN_REST_MAX_TTL_SECONDS) {
    fail(
      `"ttlSeconds" expected an integer from 1 to ${TURN_REST_MAX_TTL_SECONDS}, got ${typeof ttl === 'number' ? ttl : describe(ttl)}`,
    )
  }
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id.length === 0 || o.id.length > MAX_ID)) {
    fail(`"id" expected 1 to ${MAX_ID} characters, got ${describe(o.id)}`)
  }
  return { ...o, urls }
}

async function hmacSha1Base64(secret: string, message: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle
  if (!subtle)
    throw new ConclaveError('CRYPTO_UNAVAILABLE', 'turnRestCredentials needs WebCrypto (crypto.subtle)')
  const enc = new TextEncoder()
  const key = await subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, [
    'sign',
  ])
  const mac = new Uint8Array(await subtle.sign('HMAC', key, enc.encode(message)))
  let binary = ''
  for (const b of mac) binary += String.fromCharCode(b)
  return btoa(binary)
}

function fail(message: string): never {
  throw new ConclaveError('INVALID_ARGUMENT', message)
}
