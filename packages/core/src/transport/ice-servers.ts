/**
 * The `iceServers` option of the webrtc path (DESIGN "Connections"): a fixed list, or a function
 * called for every new connection attempt (on the end that offers and on the end that answers),
 * so that time-limited TURN credentials ({@link turnRestCredentials}) are minted, or a file
 * re-read, per attempt rather than once at start. One check of a list ({@link checkIceServers})
 * for every place that takes one: the front door, the transport, each attempt's list, the CLI.
 * There is never a default server: no list means no STUN/TURN server at all.
 * @module
 */
import { describe } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import type { PartyId } from '../ids.ts'

/**
 * ICE servers for the attempts to link to `peer`, asked anew for each attempt; may be async
 * (fetch credentials from a backend). A throw or a rejection, or a list that fails
 * {@link checkIceServers}, fails that attempt with `ICE_SERVERS_UNAVAILABLE` (retried with
 * backoff like any failed attempt).
 */
export type IceServersFunction = (peer: PartyId) => RTCIceServer[] | Promise<RTCIceServer[]>

/** The `iceServers` option: a fixed list, or a function called for every new attempt. */
export type IceServersOption = RTCIceServer[] | IceServersFunction

const SCHEME = /^(stun|turns?):/

/**
 * Check a list of ICE servers: an array of objects whose `urls` (a string or a non-empty array
 * of strings) are `stun:`, `turn:` or `turns:` URLs, with `username` and `credential` strings
 * on every server that has a `turn:` or `turns:` URL (without them an RTCPeerConnection throws
 * only when a link is attempted). `name` is the option named in the message.
 * @returns the list, unchanged
 * @throws ConclaveError `INVALID_ARGUMENT` naming the entry, what was expected and what came
 * @example
 * ```ts
 * checkIceServers([{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }])
 * ```
 */
export function checkIceServers(value: unknown, name = 'iceServers'): RTCIceServer[] {
  if (!Array.isArray(value)) fail(`"${name}" expected an array of ICE servers, got ${describe(value)}`)
  value.forEach((server: unknown, i) => {
    const at = `"${name}"[${i}]`
    if (typeof server !== 'object' || server === null)
      fail(`${at} expected an object, got ${describe(server)}`)
    const s = server as Partial<Record<'urls' | 'username' | 'credential', unknown>>
    const urls = typeof s.urls === 'string' ? [s.urls] : s.urls
    if (!Array.isArray(urls) || urls.length === 0) {
      fail(`${at}.urls expected a URL or a non-empty array of URLs, got ${describe(s.urls)}`)
    }
    for (const url of urls) {
      if (typeof url !== 'string' || !SCHEME.test(url)) {
        fail(`${at}.urls expected stun:, turn: or turns: URLs, got ${describe(url)}`)
      }
      if (url.startsWith('turn') && (typeof s.username !== 'string' || typeof s.credential !== 'string')) {
        fail(`${at} (${url}) expected "username" and "credential" strings`)
      }
    }
  })
  return value as RTCIceServer[]
}

/**
 * Check the `iceServers` option (a list is checked now, a function's lists per attempt).
 * @throws ConclaveError `INVALID_ARGUMENT` for neither a valid list nor a function
 */
export function checkIceServersOption(value: unknown, name = 'iceServers'): IceServersOption {
  if (typeof value === 'function') return value as IceServersFunction
  if (!Array.isArray(value)) {
    fail(`"${name}" expected an array of ICE servers or a function returning one, got ${describe(value)}`)
  }
  return checkIceServers(value, name)
}

/**
 * The ICE servers of one attempt to link to `peer`: the list itself (at once), or what the
 * function gives, checked. Always a promise for a function, even one that returns at once, so
 * that an attempt starts the same way whatever the function does.
 * @throws (the promise rejects with) ConclaveError `ICE_SERVERS_UNAVAILABLE` when the function
 *   throws, rejects, or gives a list that fails {@link checkIceServers}
 */
export function iceServersFor(
  option: IceServersOption | undefined,
  peer: PartyId,
): RTCIceServer[] | Promise<RTCIceServer[]> {
  if (option === undefined) return []
  if (typeof option !== 'function') return option
  // async: a function that throws at once fails the attempt the same way as one that rejects
  return (async () => {
    let list: unknown
    try {
      list = await option(peer)
    } catch (e) {
      throw unavailable('the iceServers function failed', e)
    }
    try {
      return checkIceServers(list)
    } catch (e) {
      throw unavailable('the iceServers function gave a bad list', e)
    }
  })()
}

function unavailable(what: string, cause: unknown): ConclaveError {
  const message = cause instanceof Error ? cause.message : String(cause)
  return new ConclaveError('ICE_SERVERS_UNAVAILABLE', `${what}: ${message}`, {}, { cause })
}

function fail(message: string): never {
  throw new ConclaveError('INVALID_ARGUMENT', message)
}
