/**
 * The front door's argument checks: every bad option of `joinRoom` / `createRoomParty` is a
 * `ConclaveError` naming the option, what was expected and what came, before anything starts.
 * @module
 */
import { describe } from '../bytes.ts'
import type { SigningKey } from '../crypto/types.ts'
import { ConclaveError } from '../errors.ts'
import { resolveLimits } from '../session/limits.ts'
import type { SignalingClientOptions } from '../signaling/client-types.ts'
import { validateRoom } from '../signaling/validate.ts'
import { checkIceServersOption } from '../transport/ice-servers.ts'
import type { RoomHost, RoomOptions, RoomPlatform, RoomTransport } from './types.ts'

/** What the checks settle: the key, the signaling client's options, the transport and the host. */
export interface CheckedRoomOptions {
  key: SigningKey
  signaling: Omit<SignalingClientOptions, 'publicKey' | 'sign' | 'label'>
  transport: RoomTransport
  host: RoomHost
}

const TRANSPORTS: readonly RoomTransport[] = ['webrtc', 'relay', 'hybrid']
const HOSTS: readonly RoomHost[] = ['worker', 'in-thread']
const BACKENDS: readonly string[] = ['webcrypto', 'noble']

function fail(message: string): never {
  throw new ConclaveError('INVALID_ARGUMENT', message)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function signingKey(identity: unknown): SigningKey {
  const key = (isObject(identity) && 'key' in identity ? identity.key : identity) as
    | Partial<SigningKey>
    | undefined
  if (!isObject(key) || !(key.publicKey instanceof Uint8Array) || key.publicKey.length !== 32) {
    fail(`"identity" expected a SigningKey or an Identity, got ${describe(key?.publicKey ?? key)}`)
  }
  if (!BACKENDS.includes(key.backend as string)) {
    fail(`"identity" expected a key of the webcrypto or noble backend, got ${describe(key.backend)}`)
  }
  return key as SigningKey
}

function signalingOptions(value: RoomOptions['signaling']): CheckedRoomOptions['signaling'] {
  if (typeof value === 'string') return { url: value }
  if (!isObject(value)) fail(`"signaling" expected a URL or { url, urls }, got ${describe(value)}`)
  const { url, urls, ...rest } = value
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    fail(`"signaling.urls" expected an array of URLs, got ${describe(urls)}`)
  }
  if (url !== undefined && typeof url !== 'string') {
    fail(`"signaling.url" expected a URL, got ${describe(url)}`)
  }
  const all = [...(url !== undefined ? [url] : []), ...(urls ?? [])]
  const [first, ...more] = all
  if (first === undefined) fail('"signaling" expected a URL in "url" or "urls", got none')
  return { ...rest, url: first, ...(more.length ? { urls: more } : {}) }
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt
  if (!allowed.includes(value as T)) {
    fail(`"${field}" expected ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describe(value)}`)
  }
  return value as T
}

/** A named store must be a non-empty string; a store object must be an object. */
function checkStore(
  field: 'outbox' | 'grantStore',
  value: unknown,
  host: RoomHost,
  named: boolean,
  platformName: string,
): void {
  if (value === undefined) return
  if (typeof value === 'string') {
    if (!named) {
      fail(`"${field}" cannot be a name on this platform (${platformName}): pass a store object`)
    }
    if (value.length === 0) fail(`"${field}" expected a non-empty ${platformName}, got ""`)
    return
  }
  if (!isObject(value))
    fail(`"${field}" expected a ${platformName} or a store object, got ${describe(value)}`)
  // a store object is a synchronous object of this thread: it cannot cross into the Worker, and
  // running the host here instead of where it was asked for would be a silent change
  if (host !== 'in-thread') {
    fail(`"${field}" as a store object needs host: 'in-thread'; give the Worker host a ${platformName}`)
  }
}

/**
 * Check the options of `joinRoom` / `createRoomParty`.
 * @throws ConclaveError `INVALID_ARGUMENT` naming the option; `ABORTED` when `signal` is aborted
 */
export function checkRoomOptions<O extends RoomOptions>(o: O, platform: RoomPlatform<O>): CheckedRoomOptions {
  if (!isObject(o)) fail(`joinRoom expected an options object, got ${describe(o)}`)
  const key = signingKey(o.identity)
  const room = validateRoom(o.room)
  if (!room.ok) fail(`"room" ${room.message}`)
  const signaling = signalingOptions(o.signaling)
  const transport = oneOf('transport', o.transport, TRANSPORTS, 'webrtc')
  const host = oneOf('host', o.host, HOSTS, 'worker')
  if (o.roster !== undefined && !(isObject(o.roster) && o.roster.parties instanceof Map)) {
    fail(`"roster" expected a parsed roster (parseRoster), got ${describe(o.roster)}`)
  }
  // a list is checked now, a function's lists on each attempt (ICE_SERVERS_UNAVAILABLE)
  if (o.iceServers !== undefined) checkIceServersOption(o.iceServers)
  if (o.mode !== undefined && typeof o.mode !== 'string')
    fail(`"mode" expected a string, got ${describe(o.mode)}`)
  if (o.crypto !== undefined && (!isObject(o.crypto) || o.crypto.name !== key.backend)) {
    fail(
      `"crypto" expected a ${key.backend} backend (the one that made the identity's key), got ${describe(
        isObject(o.crypto) ? o.crypto.name : o.crypto,
      )}`,
    )
  }
  try {
    resolveLimits(o.limits)
  } catch (e) {
    fail(`"limits": ${e instanceof Error ? e.message : String(e)}`)
  }
  checkStore('outbox', o.outbox, host, true, platform.storeNames.outbox)
  checkStore(
    'grantStore',
    o.grantStore,
    host,
    platform.grantStore !== undefined,
    platform.storeNames.grantStore,
  )
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    fail(`"signal" expected an AbortSignal, got ${describe(o.signal)}`)
  }
  throwIfAborted(o.signal)
  return { key, signaling, transport, host }
}

/** @throws ConclaveError `ABORTED` when `signal` is aborted */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new ConclaveError('ABORTED', 'joining the room was aborted', {}, { cause: signal.reason })
}
