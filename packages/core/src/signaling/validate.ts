/**
 * Run-time validators for every signaling payload, in both directions. socket.io hands over
 * whatever the peer sent, so the types of `protocol.ts` are only a promise until one of these
 * functions has looked at the value.
 *
 * Each validator returns a {@link Validated} result rather than throwing: the server sends a
 * failure straight back as an ack (its shape matches `Ack`'s failure), and the client turns it
 * into an `error` event. Validators copy the fields they know into a fresh object, so unknown
 * keys are never forwarded.
 * @module
 */
import { describe } from '../bytes.ts'
import { SIGNALING_ERROR_CODES } from '../errors.ts'
import { parsePartyId } from '../ids.ts'
import type {
  Ack,
  ChallengeMessage,
  HeartbeatRequest,
  JoinRequest,
  PresenceEntry,
  PresenceEvent,
  RegisterRequest,
  RelayEvent,
  RelayRequest,
  ServerErrorEvent,
  SignalData,
  SignalEvent,
  SignalingErrorCode,
  SignalingLimits,
  SignalRequest,
} from './protocol.ts'

/** The outcome of a validator: the checked value, or a failure shaped like a failed `Ack`. */
export type Validated<T> =
  | { ok: true; value: T }
  | { ok: false; code: 'BAD_PAYLOAD' | 'PAYLOAD_TOO_LARGE'; message: string }

/** Room names: 1 to 64 characters of `[A-Za-z0-9._-]`. */
export const ROOM_NAME = /^[A-Za-z0-9._-]{1,64}$/

/** Longest display label a party may register, in characters. */
export const MAX_LABEL_LENGTH = 64

/** Longest `linkId` of a signal, in characters. */
export const MAX_LINK_ID_LENGTH = 256

/** Deepest nesting accepted inside a signal's `payload`. */
export const MAX_SIGNAL_DEPTH = 16

/**
 * Default largest relay frame and JSON-encoded signal data: 64 KiB, the frame size of DESIGN.
 * @default 65536
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024

const SIGNAL_KINDS: ReadonlySet<string> = new Set<SignalData['kind']>([
  'offer',
  'answer',
  'candidate',
  'renegotiate',
  'connect-request',
])

const ERROR_CODES: ReadonlySet<string> = new Set<SignalingErrorCode>(SIGNALING_ERROR_CODES)

const HEX_CHALLENGE = /^[0-9a-f]{64}$/
const HEX_SIGNATURE = /^[0-9a-f]{128}$/
const textEncoder = new TextEncoder()

/** Thrown inside this module only, turned into a failed {@link Validated} at its edge. */
class Invalid extends Error {
  constructor(
    message: string,
    readonly code: 'BAD_PAYLOAD' | 'PAYLOAD_TOO_LARGE' = 'BAD_PAYLOAD',
  ) {
    super(message)
  }
}

function run<T>(check: () => T): Validated<T> {
  try {
    return { ok: true, value: check() }
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, code: e.code, message: e.message }
    throw e
  }
}

type Obj = Record<string, unknown>

function object(value: unknown, name: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new Invalid(`"${name}" expected an object, got ${describe(value)}`)
  }
  return value as Obj
}

function room(value: unknown, name = 'room'): string {
  if (typeof value !== 'string' || !ROOM_NAME.test(value)) {
    throw new Invalid(`"${name}" expected 1-64 characters of [A-Za-z0-9._-], got ${describe(value)}`)
  }
  return value
}

function partyId(value: unknown, name: string): string {
  try {
    return parsePartyId(value)
  } catch {
    throw new Invalid(`"${name}" expected 64 lowercase hex characters (not all zero), got ${describe(value)}`)
  }
}

function label(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length > MAX_LABEL_LENGTH) {
    throw new Invalid(
      `"label" expected a string of at most ${MAX_LABEL_LENGTH} characters, got ${describe(value)}`,
    )
  }
  return value
}

function health(value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new Invalid(`"health" expected a number in [0, 1], got ${describe(value)}`)
  }
  return value
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Invalid(`"${name}" expected a non-negative integer, got ${describe(value)}`)
  }
  return value
}

function positiveInteger(value: unknown, name: string): number {
  if (nonNegativeInteger(value, name) === 0) throw new Invalid(`"${name}" expected a positive integer, got 0`)
  return value as number
}

/** Checks that `value` is plain JSON (what a simple-peer signal object is), not too deep. */
function assertJson(value: unknown, depth: number): void {
  if (depth > MAX_SIGNAL_DEPTH) throw new Invalid(`"payload" nested deeper than ${MAX_SIGNAL_DEPTH} levels`)
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Invalid('"payload" holds a non-finite number')
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) assertJson(item, depth + 1)
    return
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      throw new Invalid(`"payload" expected plain JSON, found ${describe(value)}`)
    }
    for (const item of Object.values(value)) assertJson(item, depth + 1)
    return
  }
  throw new Invalid(`"payload" expected plain JSON, found ${typeof value}`)
}

function signalData(value: unknown, maxBytes: number): SignalData {
  const o = object(value, 'data')
  if (typeof o.linkId !== 'string' || o.linkId.length === 0 || o.linkId.length > MAX_LINK_ID_LENGTH) {
    throw new Invalid(`"data.linkId" expected 1-${MAX_LINK_ID_LENGTH} characters, got ${describe(o.linkId)}`)
  }
  const attempt = nonNegativeInteger(o.attempt, 'data.attempt')
  if (typeof o.kind !== 'string' || !SIGNAL_KINDS.has(o.kind)) {
    throw new Invalid(`"data.kind" expected one of ${[...SIGNAL_KINDS].join(', ')}, got ${describe(o.kind)}`)
  }
  const data: SignalData = { linkId: o.linkId, attempt, kind: o.kind as SignalData['kind'] }
  if (o.payload !== undefined) {
    assertJson(o.payload, 0)
    data.payload = o.payload
  }
  const size = textEncoder.encode(JSON.stringify(data)).length
  if (size > maxBytes)
    throw new Invalid(`"data" expected at most ${maxBytes} bytes of JSON, got ${size}`, 'PAYLOAD_TOO_LARGE')
  return data
}

/**
 * The bytes of a relay frame as a Uint8Array (a view, not a copy). Accepts Uint8Array
 * (Node's Buffer is one), ArrayBuffer, and other ArrayBuffer views.
 */
function frameBytes(value: unknown, maxBytes: number): Uint8Array {
  let bytes: Uint8Array
  if (value instanceof Uint8Array) bytes = value
  else if (value instanceof ArrayBuffer) bytes = new Uint8Array(value)
  else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  else throw new Invalid(`"frame" expected bytes, got ${describe(value)}`)
  if (bytes.length === 0) throw new Invalid('"frame" expected at least 1 byte, got 0')
  if (bytes.length > maxBytes) {
    throw new Invalid(`"frame" expected at most ${maxBytes} bytes, got ${bytes.length}`, 'PAYLOAD_TOO_LARGE')
  }
  return bytes
}

function presenceEntry(value: unknown, name: string): PresenceEntry {
  const o = object(value, name)
  const entry: PresenceEntry = {
    partyId: partyId(o.partyId, `${name}.partyId`),
    lastSeen: nonNegativeInteger(o.lastSeen, `${name}.lastSeen`),
  }
  const l = label(o.label)
  if (l !== undefined) entry.label = l
  const h = health(o.health)
  if (h !== undefined) entry.health = h
  return entry
}

// ── client → server ─────────────────────────────────────────────────────────────────────────

/** Check a room name (1-64 characters of `[A-Za-z0-9._-]`). */
export function validateRoom(value: unknown): Validated<string> {
  return run(() => room(value))
}

/** Check a PartyId (64 lowercase hex characters, not all zero). */
export function validatePartyId(value: unknown): Validated<string> {
  return run(() => partyId(value, 'partyId'))
}

/** Check a `register` request: PartyId, 64-byte hex signature, integer version, optional label. */
export function validateRegisterRequest(value: unknown): Validated<RegisterRequest> {
  return run(() => {
    const o = object(value, 'register')
    const req: RegisterRequest = {
      partyId: partyId(o.partyId, 'partyId'),
      signature: '',
      version: nonNegativeInteger(o.version, 'version'),
    }
    if (typeof o.signature !== 'string' || !HEX_SIGNATURE.test(o.signature)) {
      throw new Invalid(`"signature" expected 128 lowercase hex characters, got ${describe(o.signature)}`)
    }
    req.signature = o.signature
    const l = label(o.label)
    if (l !== undefined) req.label = l
    return req
  })
}

/** Check a `join` or `leave` request. */
export function validateJoinRequest(value: unknown): Validated<JoinRequest> {
  return run(() => ({ room: room(object(value, 'join').room) }))
}

/**
 * Check signal data on its own: `linkId`, `attempt`, `kind`, and a plain-JSON `payload` whose
 * whole encoding is at most `maxBytes` (else `PAYLOAD_TOO_LARGE`).
 */
export function validateSignalData(
  value: unknown,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): Validated<SignalData> {
  return run(() => signalData(value, maxBytes))
}

/** Check a `signal` request: room, addressee and signal data (see {@link validateSignalData}). */
export function validateSignalRequest(
  value: unknown,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): Validated<SignalRequest> {
  return run(() => {
    const o = object(value, 'signal')
    return { room: room(o.room), to: partyId(o.to, 'to'), data: signalData(o.data, maxBytes) }
  })
}

/**
 * Check a `relay` request: room, addressee, and a non-empty frame of at most `maxBytes`
 * (else `PAYLOAD_TOO_LARGE`). The frame comes back as a Uint8Array view.
 */
export function validateRelayRequest(
  value: unknown,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): Validated<RelayRequest & { frame: Uint8Array }> {
  return run(() => {
    const o = object(value, 'relay')
    return { room: room(o.room), to: partyId(o.to, 'to'), frame: frameBytes(o.frame, maxBytes) }
  })
}

/** Check a `heartbeat` request; a missing request counts as `{}`. */
export function validateHeartbeatRequest(value: unknown): Validated<HeartbeatRequest> {
  return run(() => {
    if (value === undefined) return {}
    const h = health(object(value, 'heartbeat').health)
    return h === undefined ? {} : { health: h }
  })
}

// ── server → client ─────────────────────────────────────────────────────────────────────────

function limits(value: unknown): SignalingLimits {
  const o = object(value, 'limits')
  return {
    maxPayloadBytes: positiveInteger(o.maxPayloadBytes, 'limits.maxPayloadBytes'),
    eventsPerSecond: positiveInteger(o.eventsPerSecond, 'limits.eventsPerSecond'),
    roomsPerSocket: positiveInteger(o.roomsPerSocket, 'limits.roomsPerSocket'),
    partiesPerRoom: positiveInteger(o.partiesPerRoom, 'limits.partiesPerRoom'),
    heartbeatTimeoutMs: positiveInteger(o.heartbeatTimeoutMs, 'limits.heartbeatTimeoutMs'),
  }
}

/** Check a `challenge`: 32 random bytes in hex, an origin string, a list of versions. */
export function validateChallenge(value: unknown): Validated<ChallengeMessage> {
  return run(() => {
    const o = object(value, 'challenge')
    if (typeof o.challenge !== 'string' || !HEX_CHALLENGE.test(o.challenge)) {
      throw new Invalid(`"challenge" expected 64 lowercase hex characters, got ${describe(o.challenge)}`)
    }
    if (typeof o.origin !== 'string' || o.origin.length === 0 || o.origin.length > 2048) {
      throw new Invalid(`"origin" expected a non-empty string, got ${describe(o.origin)}`)
    }
    if (!Array.isArray(o.versions) || o.versions.length > 64) {
      throw new Invalid(`"versions" expected an array of integers, got ${describe(o.versions)}`)
    }
    const msg: ChallengeMessage = {
      challenge: o.challenge,
      origin: o.origin,
      versions: o.versions.map((v, i) => nonNegativeInteger(v, `versions[${i}]`)),
    }
    if (o.limits !== undefined) msg.limits = limits(o.limits)
    return msg
  })
}

/** Check a `presence` event. */
export function validatePresenceEvent(value: unknown): Validated<PresenceEvent> {
  return run(() => {
    const o = object(value, 'presence')
    if (o.event !== 'joined' && o.event !== 'left') {
      throw new Invalid(`"event" expected "joined" or "left", got ${describe(o.event)}`)
    }
    return { room: room(o.room), event: o.event, party: presenceEntry(o.party, 'party') }
  })
}

/** Check a `signal` event (the server stamped `from`). */
export function validateSignalEvent(
  value: unknown,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): Validated<SignalEvent> {
  return run(() => {
    const o = object(value, 'signal')
    return { room: room(o.room), from: partyId(o.from, 'from'), data: signalData(o.data, maxBytes) }
  })
}

/** Check a `relay` event; the frame comes back as a Uint8Array view. */
export function validateRelayEvent(
  value: unknown,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): Validated<RelayEvent & { frame: Uint8Array }> {
  return run(() => {
    const o = object(value, 'relay')
    return { room: room(o.room), from: partyId(o.from, 'from'), frame: frameBytes(o.frame, maxBytes) }
  })
}

/** True when `value` is one of the signaling error codes. */
export function isSignalingErrorCode(value: unknown): value is SignalingErrorCode {
  return typeof value === 'string' && ERROR_CODES.has(value)
}

/** Check a server `error` event. */
export function validateServerError(value: unknown): Validated<ServerErrorEvent> {
  return run(() => {
    const o = object(value, 'error')
    if (!isSignalingErrorCode(o.code))
      throw new Invalid(`"code" expected a signaling error code, got ${describe(o.code)}`)
    const msg: ServerErrorEvent = {
      code: o.code,
      message: typeof o.message === 'string' ? o.message.slice(0, 1024) : '',
    }
    if (typeof o.event === 'string') msg.event = o.event.slice(0, 64)
    if (o.room !== undefined) msg.room = room(o.room)
    if (o.to !== undefined) msg.to = partyId(o.to, 'to')
    return msg
  })
}

/**
 * Check an acknowledgement. `body` checks the fields of a successful one (and returns them);
 * a failed one must carry a known code.
 */
export function validateAck<T extends object>(
  value: unknown,
  body: (o: Record<string, unknown>) => T,
): Validated<Ack<T>> {
  return run(() => {
    const o = object(value, 'ack')
    if (o.ok === true) return { ok: true as const, ...body(o) }
    if (o.ok === false && isSignalingErrorCode(o.code)) {
      return {
        ok: false as const,
        code: o.code,
        message: typeof o.message === 'string' ? o.message.slice(0, 1024) : '',
      }
    }
    throw new Invalid(`"ack" expected { ok: true } or { ok: false, code }, got ${describe(o.ok)}`)
  })
}

/** Body check for the `register` ack: `{ partyId }`. */
export function registerAckBody(o: Record<string, unknown>): { partyId: string } {
  return { partyId: partyId(o.partyId, 'partyId') }
}

/** Body check for the `join` ack: `{ peers }`. */
export function joinAckBody(o: Record<string, unknown>): { peers: PresenceEntry[] } {
  if (!Array.isArray(o.peers)) throw new Invalid(`"peers" expected an array, got ${describe(o.peers)}`)
  return { peers: o.peers.map((p, i) => presenceEntry(p, `peers[${i}]`)) }
}

/** Body check for acks that carry nothing. */
export function emptyAckBody(): object {
  return {}
}
