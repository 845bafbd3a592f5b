/**
 * The signaling client: one socket.io connection to the signaling server, registered under the
 * party's identity key, which keeps itself registered and in its rooms across reconnects.
 * @module
 */
import { io as defaultIo, type Socket } from 'socket.io-client'
import { backoffDelay } from '../backoff.ts'
import { assertBytes, describe, fromHex, toHex } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'
import { registrationSignedBytes } from '../wire/contexts.ts'
import type {
  AbortOptions,
  IoFactory,
  SignalingClient,
  SignalingClientEvents,
  SignalingClientOptions,
  SignalingClientState,
} from './client-types.ts'
import { SignalingError } from './error.ts'
import {
  type Ack,
  type ChallengeMessage,
  type ClientToServerEvents,
  type ServerToClientEvents,
  SIGNALING_VERSIONS,
  type SignalingLimits,
} from './protocol.ts'
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  emptyAckBody,
  joinAckBody,
  registerAckBody,
  type Validated,
  validateAck,
  validateChallenge,
  validatePartyId,
  validatePresenceEvent,
  validateRelayEvent,
  validateRoom,
  validateServerError,
  validateSignalData,
  validateSignalEvent,
} from './validate.ts'

export type * from './client-types.ts'
export * from './error.ts'

type Listeners = { [K in keyof SignalingClientEvents]: Set<(value: SignalingClientEvents[K]) => void> }

const DEFAULT_ACK_TIMEOUT_MS = 10_000
const DEFAULT_HEARTBEAT_INTERVAL_MS = 20_000
/** Registration refusals after which retrying cannot help: the client stops. */
const FATAL_REGISTRATION: ReadonlySet<string> = new Set(['BAD_SIGNATURE', 'VERSION_MISMATCH', 'BAD_PAYLOAD'])

/** The origin a signature must name for `url`: `ws:`/`wss:` count as `http:`/`https:`. */
function expectedOrigin(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConclaveError('INVALID_ARGUMENT', `"url" expected an absolute URL, got ${describe(url)}`)
  }
  if (parsed.protocol === 'ws:') parsed.protocol = 'http:'
  else if (parsed.protocol === 'wss:') parsed.protocol = 'https:'
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConclaveError('INVALID_ARGUMENT', `"url" expected http(s) or ws(s), got ${parsed.protocol}`)
  }
  return parsed.origin
}

function checked<T>(result: Validated<T>, what: string): T {
  if (!result.ok) throw new ConclaveError('INVALID_ARGUMENT', `${what}: ${result.message}`)
  return result.value
}

function abortError(): SignalingError {
  return new SignalingError('ABORTED', 'operation aborted')
}

/**
 * Create a signaling client. Nothing happens until `start()`.
 *
 * It answers every `challenge` by registering, but only when the challenge names the origin of
 * the URL it connected to: a hostile server could otherwise relay our signature to another
 * server. With `urls`, a server that cannot be reached is left for the next one in turn. After socket.io
 * reconnects it registers again and re-joins its rooms by itself. Every payload from the server
 * is checked with `validate.ts`; invalid ones are dropped with an `error` event (`BAD_PAYLOAD`).
 *
 * @example
 * ```ts
 * const client = createSignalingClient({ url, publicKey, sign: (b) => backend.ed25519.sign(key, b) })
 * client.on('signal', ({ from, data }) => peerFor(from).signal(data.payload))
 * await client.start({ signal: AbortSignal.timeout(5000) })
 * const peers = await client.join('demo')
 * ```
 * @throws ConclaveError `INVALID_ARGUMENT` on a bad URL, key or label
 */
export function createSignalingClient(options: SignalingClientOptions): SignalingClient {
  assertBytes('publicKey', options.publicKey, 32)
  if (typeof options.sign !== 'function') {
    throw new ConclaveError('INVALID_ARGUMENT', `"sign" expected a function, got ${describe(options.sign)}`)
  }
  if (options.label !== undefined && (typeof options.label !== 'string' || options.label.length > 64)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"label" expected at most 64 characters, got ${describe(options.label)}`,
    )
  }
  if (options.urls !== undefined && !Array.isArray(options.urls)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"urls" expected an array of URLs, got ${describe(options.urls)}`,
    )
  }
  /** Every server to try, in order; each with the origin its challenges must name. */
  const servers = [...new Set([options.url, ...(options.urls ?? [])])].map((url) => ({
    url,
    origin: expectedOrigin(url),
  }))
  /** The server tried now, and how many in a row could not be reached (for the failover delay). */
  let current = 0
  let unreachable = 0
  let failoverTimer: ReturnType<typeof setTimeout> | undefined
  const publicKey = options.publicKey.slice()
  const partyId = toHex(publicKey)
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS
  const makeSocket = options.io ?? (defaultIo as IoFactory)

  const listeners: Listeners = {
    registered: new Set(),
    joined: new Set(),
    presence: new Set(),
    signal: new Set(),
    relay: new Set(),
    error: new Set(),
    state: new Set(),
  }
  function emit<K extends keyof SignalingClientEvents>(event: K, value: SignalingClientEvents[K]): void {
    for (const fn of [...listeners[event]]) {
      try {
        fn(value)
      } catch {
        // A throwing listener must not break the client or the other listeners.
      }
    }
  }

  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined
  let state: SignalingClientState = 'disconnected'
  let limits: SignalingLimits | undefined
  /** Bumped on every connect/disconnect so that late answers of an older connection are ignored. */
  let generation = 0
  let lastHealth: number | undefined
  /** The last `error` the server sent: why it cut us, if it does. */
  let lastServerError: SignalingError | undefined
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined
  const rooms = new Set<string>()
  /** Waiters for `registered`, failed with the error when the client gives up or stops. */
  const waiters = new Set<{ resolve: () => void; reject: (e: SignalingError) => void }>()
  /** Rejecters of operations awaiting an ack; a disconnect fails them all. */
  const pending = new Set<(e: SignalingError) => void>()

  function setState(next: SignalingClientState): void {
    if (state === next) return
    state = next
    emit('state', next)
  }

  function failWaiters(error: SignalingError): void {
    for (const w of [...waiters]) w.reject(error)
  }

  function failPending(error: SignalingError): void {
    for (const reject of [...pending]) reject(error)
  }

  function startHeartbeat(): void {
    stopHeartbeat()
    const period =
      options.heartbeatIntervalMs ??
      (limits ? Math.max(1000, Math.floor(limits.heartbeatTimeoutMs / 3)) : DEFAULT_HEARTBEAT_INTERVAL_MS)
    heartbeatTimer = setInterval(() => sendHeartbeat(), period)
    ;(heartbeatTimer as { unref?: () => void }).unref?.()
  }

  function stopHeartbeat(): void {
    if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer)
    heartbeatTimer = undefined
  }

  function sendHeartbeat(): void {
    if (state !== 'registered' || !socket) return
    socket.emit('heartbeat', lastHealth === undefined ? {} : { health: lastHealth })
  }

  /** Emit with an ack, a timeout, an abort signal, and failure on disconnect. */
  function request<T extends object>(
    event: 'register' | 'join' | 'leave' | 'signal',
    payload: unknown,
    body: (o: Record<string, unknown>) => T,
    details: { room?: string; to?: string },
    abort?: AbortSignal,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const s = socket
      if (!s || state === 'disconnected') {
        reject(new SignalingError('DISCONNECTED', `not connected (${event})`, { event, ...details }))
        return
      }
      let settled = false
      const finish = (error: SignalingError | undefined, value?: T): void => {
        if (settled) return
        settled = true
        pending.delete(fail)
        abort?.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve(value as T)
      }
      const fail = (e: SignalingError): void => finish(e)
      const onAbort = (): void => finish(abortError())
      if (abort?.aborted) return onAbort()
      abort?.addEventListener('abort', onAbort, { once: true })
      pending.add(fail)
      const onAck = (err: Error | null, res: unknown): void => {
        finish(...settle(err, res))
      }
      const settle = (err: Error | null, res: unknown): [SignalingError | undefined, T?] => {
        const where = { event, ...details }
        if (err)
          return [new SignalingError('TIMEOUT', `no answer to "${event}" in ${ackTimeoutMs} ms`, where)]
        const ack: Validated<Ack<T>> = validateAck(res, body)
        if (!ack.ok)
          return [new SignalingError('BAD_PAYLOAD', `invalid "${event}" ack: ${ack.message}`, where)]
        const a = ack.value
        if (!a.ok) return [new SignalingError(a.code, a.message, where)]
        return [undefined, a as T]
      }
      // The typed socket cannot express "one of four events", hence the cast; payloads were
      // built from checked arguments just above the call sites.
      ;(s.timeout(ackTimeoutMs) as unknown as Socket).emit(event, payload, onAck)
    })
  }

  async function onChallenge(raw: unknown, origin: string): Promise<void> {
    const gen = generation
    const parsed = validateChallenge(raw)
    if (!parsed.ok) return badPayload('challenge', parsed.message)
    const challenge: ChallengeMessage = parsed.value
    if (challenge.origin !== origin) {
      // Signing would let a hostile server replay our registration at `challenge.origin`.
      return refuse(
        new SignalingError('ORIGIN_MISMATCH', `challenge names ${challenge.origin}, connected to ${origin}`, {
          event: 'challenge',
        }),
      )
    }
    const version = SIGNALING_VERSIONS.find((v) => challenge.versions.includes(v))
    if (version === undefined) {
      return refuse(
        new SignalingError('VERSION_MISMATCH', `server speaks ${challenge.versions.join(',')}`, {
          event: 'challenge',
        }),
      )
    }
    limits = challenge.limits
    setState('registering')
    let signature: Uint8Array
    try {
      signature = await options.sign(registrationSignedBytes(origin, fromHex(challenge.challenge), publicKey))
    } catch (e) {
      return refuse(new SignalingError('BAD_SIGNATURE', `sign() failed: ${(e as Error)?.message ?? e}`))
    }
    if (gen !== generation) return
    const req = {
      partyId,
      signature: toHex(signature),
      version,
      ...(options.label ? { label: options.label } : {}),
    }
    try {
      const res = await request('register', req, registerAckBody, {})
      if (gen !== generation) return
      if (res.partyId !== partyId) {
        return refuse(
          new SignalingError('BAD_PAYLOAD', 'server registered another PartyId', { event: 'register' }),
        )
      }
    } catch (e) {
      if (gen !== generation || !(e instanceof SignalingError)) return
      if (FATAL_REGISTRATION.has(e.code)) return refuse(e)
      emit('error', e)
      // Unanswered or throttled: start over on a fresh connection (and a fresh challenge).
      if (e.code !== 'DISCONNECTED' && socket) socket.disconnect().connect()
      return
    }
    setState('registered')
    emit('registered', { partyId, limits })
    for (const w of [...waiters]) w.resolve()
    startHeartbeat()
    for (const room of [...rooms]) void rejoin(room, gen)
  }

  async function rejoin(room: string, gen: number): Promise<void> {
    try {
      const { peers } = await request('join', { room }, joinAckBody, { room })
      if (gen === generation) emit('joined', { room, peers })
    } catch (e) {
      if (gen !== generation || !(e instanceof SignalingError)) return
      if (e.code === 'DISCONNECTED') return // the next registration re-joins
      rooms.delete(room)
      emit('error', e)
    }
  }

  /** Give up on this server: tell the listeners and waiters, and disconnect. */
  function refuse(error: SignalingError): void {
    emit('error', error)
    failWaiters(error)
    teardown(error)
  }

  function badPayload(event: string, message: string): void {
    emit('error', new SignalingError('BAD_PAYLOAD', `invalid "${event}" from server: ${message}`, { event }))
  }

  function onDisconnect(): void {
    generation++
    stopHeartbeat()
    failPending(new SignalingError('DISCONNECTED', 'connection lost'))
    // Packets socket.io buffered while offline would reach the next connection before it has
    // registered; the operations that sent them have just failed, so drop them.
    if (socket) socket.sendBuffer = []
    setState('disconnected')
    // Cut by the server (REPLACED, ABUSE, HEARTBEAT_TIMEOUT …): socket.io will not reconnect,
    // so nobody waiting for a registration should keep waiting. `start()` connects again.
    if (socket && !socket.active)
      failWaiters(lastServerError ?? new SignalingError('DISCONNECTED', 'cut by the server'))
  }

  function teardown(error: SignalingError): void {
    const s = socket
    socket = undefined
    if (failoverTimer !== undefined) clearTimeout(failoverTimer)
    failoverTimer = undefined
    generation++
    stopHeartbeat()
    failPending(error)
    if (s) {
      s.removeAllListeners()
      s.disconnect()
    }
    setState('disconnected')
  }

  /**
   * The current server could not be reached (socket.io's manager failed to open a connection):
   * stop retrying it and, after a backoff delay, connect to the next one. Pending waiters keep
   * waiting and the rooms are kept: the next registration re-joins them.
   */
  function failover(s: Socket): void {
    if (s !== socket || s.connected || failoverTimer !== undefined) return
    s.removeAllListeners()
    s.io.removeAllListeners()
    s.disconnect()
    current = (current + 1) % servers.length
    const delay = backoffDelay(unreachable++, {
      initialMs: options.reconnect?.initialDelayMs ?? 250,
      maxMs: options.reconnect?.maxDelayMs ?? 10_000,
      jitter: options.reconnect?.jitter ?? 0.5,
    })
    failoverTimer = setTimeout(() => {
      failoverTimer = undefined
      if (socket === s) connect()
    }, delay)
  }

  function connect(): void {
    const maxPayload = () => limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
    const server = servers[current] ?? servers[0]!
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = makeSocket(server.url, {
      transports: options.transports ?? ['websocket'],
      forceNew: true,
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: options.reconnect?.initialDelayMs ?? 250,
      reconnectionDelayMax: options.reconnect?.maxDelayMs ?? 10_000,
      randomizationFactor: options.reconnect?.jitter ?? 0.5,
    })
    socket = s
    if (servers.length > 1) s.io.on('error', () => failover(s))
    s.on('connect', () => {
      generation++
      unreachable = 0
      lastServerError = undefined
      setState('registering')
    })
    s.on('disconnect', onDisconnect)
    s.on('challenge', (raw: unknown) => void onChallenge(raw, server.origin))
    s.on('presence', (raw: unknown) => {
      const r = validatePresenceEvent(raw)
      if (r.ok) emit('presence', r.value)
      else badPayload('presence', r.message)
    })
    s.on('signal', (raw: unknown) => {
      const r = validateSignalEvent(raw, maxPayload())
      if (r.ok) emit('signal', r.value)
      else badPayload('signal', r.message)
    })
    s.on('relay', (raw: unknown) => {
      const r = validateRelayEvent(raw, maxPayload())
      if (!r.ok) return badPayload('relay', r.message)
      const f = r.value.frame
      // Node hands over a Buffer; listeners get a plain Uint8Array view.
      emit('relay', { ...r.value, frame: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) })
    })
    s.on('error', (raw: unknown) => {
      const r = validateServerError(raw)
      if (!r.ok) return badPayload('error', r.message)
      const { code, message, ...details } = r.value
      lastServerError = new SignalingError(code, message, details)
      emit('error', lastServerError)
    })
    s.connect()
  }

  function ready(opts: AbortOptions = {}): Promise<void> {
    if (state === 'registered') return Promise.resolve()
    if (!socket) return Promise.reject(new SignalingError('STOPPED', 'client is not started'))
    if (!socket.active && failoverTimer === undefined) {
      return Promise.reject(
        lastServerError ?? new SignalingError('DISCONNECTED', 'cut by the server; start() again'),
      )
    }
    return new Promise<void>((resolve, reject) => {
      const abort = opts.signal
      const waiter = {
        resolve: () => done(undefined),
        reject: (e: SignalingError) => done(e),
      }
      const onAbort = (): void => done(abortError())
      function done(error: SignalingError | undefined): void {
        waiters.delete(waiter)
        abort?.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve()
      }
      if (abort?.aborted) return onAbort()
      abort?.addEventListener('abort', onAbort, { once: true })
      waiters.add(waiter)
    })
  }

  function checkRoom(room: string): string {
    return checked(validateRoom(room), '"room"')
  }

  return {
    get state() {
      return state
    },
    get partyId() {
      return partyId
    },
    get limits() {
      return limits
    },
    get rooms() {
      return [...rooms]
    },

    start(opts = {}) {
      if (!socket) connect()
      else if (!socket.active && failoverTimer === undefined) socket.connect()
      return ready(opts)
    },

    stop() {
      rooms.clear()
      const error = new SignalingError('STOPPED', 'client stopped')
      failWaiters(error)
      teardown(error)
    },

    ready,

    async join(room, opts = {}) {
      checkRoom(room)
      for (;;) {
        await ready(opts)
        try {
          const { peers } = await request('join', { room }, joinAckBody, { room }, opts.signal)
          rooms.add(room)
          emit('joined', { room, peers })
          return peers
        } catch (e) {
          // A join cut off by a reconnect is simply tried again on the next registration.
          if (!(e instanceof SignalingError) || e.code !== 'DISCONNECTED') throw e
        }
      }
    },

    async leave(room, opts = {}) {
      checkRoom(room)
      const was = rooms.delete(room)
      if (!was || state !== 'registered') return
      try {
        await request('leave', { room }, emptyAckBody, { room }, opts.signal)
      } catch (e) {
        // Cut off by a disconnect: the server forgot the membership with the socket anyway.
        if (!(e instanceof SignalingError) || e.code !== 'DISCONNECTED') throw e
      }
    },

    async signal(room, to, data, opts = {}) {
      checkRoom(room)
      checked(validatePartyId(to), '"to"')
      const valid = validateSignalData(data, limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES)
      if (!valid.ok) throw new SignalingError(valid.code, valid.message, { event: 'signal', room, to })
      await ready(opts)
      await request('signal', { room, to, data: valid.value }, emptyAckBody, { room, to }, opts.signal)
    },

    relay(room, to, frame) {
      checkRoom(room)
      checked(validatePartyId(to), '"to"')
      if (!(frame instanceof Uint8Array) && !(frame instanceof ArrayBuffer)) {
        throw new ConclaveError(
          'INVALID_ARGUMENT',
          `"frame" expected Uint8Array or ArrayBuffer, got ${describe(frame)}`,
        )
      }
      const max = limits?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
      if (frame.byteLength > max) {
        // the server's refusal of the same payload, as signal() throws it for oversized data
        throw new SignalingError(
          'PAYLOAD_TOO_LARGE',
          `"frame" expected at most ${max} bytes, got ${frame.byteLength}`,
          { event: 'relay', room, to },
        )
      }
      if (state !== 'registered' || !socket) return false
      socket.emit('relay', { room, to, frame })
      return true
    },

    heartbeat(health) {
      if (health !== undefined && (typeof health !== 'number' || !(health >= 0 && health <= 1))) {
        throw new ConclaveError(
          'INVALID_ARGUMENT',
          `"health" expected a number in [0, 1], got ${describe(health)}`,
        )
      }
      lastHealth = health
      sendHeartbeat()
    },

    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>
      set.add(listener)
      return () => {
        set.delete(listener)
      }
    },
  }
}
