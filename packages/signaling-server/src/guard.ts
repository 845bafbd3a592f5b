/**
 * The limits of one socket and how it is refused: event rate, relay byte rate, known event
 * names, and the abuse counter that cuts a socket which keeps getting refused.
 * @module
 */
import type { ClientToServerEvents, ServerErrorEvent, SignalingErrorCode } from '@conclave/core/signaling'
import { createTokenBucket } from './bucket.ts'
import type { ConnectionContext, SignalingSocket } from './context.ts'

/** An acknowledgement callback as socket.io hands it over. */
export type AckFn = (res: unknown) => void

/** Room and addressee of a refused `signal` / `relay`, for the `error` event. */
export type Where = Pick<ServerErrorEvent, 'room' | 'to'>

/** One socket's limits and refusals. */
export interface Guard {
  /** True once the socket is being cut or is gone; nothing more is sent then. */
  readonly closed: boolean
  /**
   * Refuse an event: through its ack when it has one, else an `error` event naming the event.
   * Violations count towards the abuse limit, past which the socket is cut with `ABUSE`.
   */
  refuse(
    code: SignalingErrorCode,
    message: string,
    event: string,
    ack: AckFn | undefined,
    where?: Where,
  ): void
  /** Tell the socket why, then disconnect it. */
  cut(code: SignalingErrorCode, message: string): void
  /** Take `n` bytes from the relay byte budget; false when over it. */
  takeRelayBytes(n: number): boolean
  /** Note that the socket is gone (it disconnected by itself). */
  close(): void
  /** ms since epoch of the last admitted event. */
  readonly lastActivity: number
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set<keyof ClientToServerEvents>([
  'register',
  'join',
  'leave',
  'signal',
  'relay',
  'heartbeat',
])

/** Refusals that count towards the abuse limit; the others can happen to honest clients in races. */
const VIOLATIONS: ReadonlySet<SignalingErrorCode> = new Set<SignalingErrorCode>([
  'BAD_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'NOT_REGISTERED',
  'BAD_SIGNATURE',
  'VERSION_MISMATCH',
  'ALREADY_REGISTERED',
])

/** The ack of an event: its last argument when that is a function. */
export function ackOf(args: readonly unknown[]): AckFn | undefined {
  const last = args[args.length - 1]
  return typeof last === 'function' ? (last as AckFn) : undefined
}

/**
 * Guard a socket: installs a socket.io middleware that refuses unknown events and events over
 * the rate before any handler sees them.
 * @param partyId the socket's PartyId once registered (for the logs)
 */
export function createGuard(
  ctx: ConnectionContext,
  socket: SignalingSocket,
  partyId: () => string | undefined,
): Guard {
  const { config, metrics, log } = ctx
  const events = createTokenBucket(config.eventBurst, config.eventsPerSecond)
  const bytes = createTokenBucket(
    Math.max(config.relayBytesPerSecond * 2, config.maxPayloadBytes),
    config.relayBytesPerSecond,
  )
  const violations = createTokenBucket(
    config.maxViolations,
    (config.maxViolations * 1000) / config.violationWindowMs,
  )
  let closed = false
  let lastActivity = Date.now()

  const guard: Guard = {
    get closed() {
      return closed
    },
    get lastActivity() {
      return lastActivity
    },
    cut(code, message) {
      if (closed) return
      closed = true
      metrics.rejected(code)
      log.info('cut', { socketId: socket.id, partyId: partyId(), code })
      socket.emit('error', { code, message })
      socket.disconnect(true)
    },
    refuse(code, message, event, ack, where = {}) {
      if (closed) return
      metrics.rejected(code)
      log.debug('refused', { socketId: socket.id, partyId: partyId(), event, code })
      if (ack) ack({ ok: false, code, message })
      else socket.emit('error', { code, message, event, ...where })
      if (VIOLATIONS.has(code) && !violations.take()) {
        guard.cut(
          'ABUSE',
          `more than ${config.maxViolations} refused events in ${config.violationWindowMs} ms`,
        )
      }
    },
    takeRelayBytes(n) {
      return bytes.take(n)
    },
    close() {
      closed = true
    },
  }

  socket.use((packet, next) => {
    const [event, ...args] = packet as unknown as [unknown, ...unknown[]]
    const ack = ackOf(args)
    const name = String(event).slice(0, 64)
    if (!KNOWN_EVENTS.has(name))
      return guard.refuse('BAD_PAYLOAD', `unknown event ${JSON.stringify(name)}`, name, ack)
    if (!events.take()) {
      return guard.refuse('RATE_LIMITED', `more than ${config.eventsPerSecond} events per second`, name, ack)
    }
    lastActivity = Date.now()
    next()
  })

  return guard
}
