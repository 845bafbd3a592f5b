/**
 * One socket's life on the server: guard it, send the challenge, dispatch its events to the
 * registration and routing handlers, cut it on timeouts, and clean up when it goes.
 * @module
 */
import type { ClientToServerEvents, SignalingErrorCode } from '@conclave/core/signaling'
import { announce, type ConnectionContext, type SignalingSocket } from './context.ts'
import { ackOf, createGuard } from './guard.ts'
import { createRegistration } from './registration.ts'
import { createRouting, type EventHandler } from './routing.ts'

/** What the server keeps of a live connection (for the timeout sweep and the gauges). */
export interface Connection {
  readonly socket: SignalingSocket
  /** The registered PartyId, once registered. */
  readonly partyId: string | undefined
  /** Cut the socket if it overstayed unregistered, or went silent while registered. */
  sweep(now: number): void
  /** Tell the socket why, then disconnect it (the client does not reconnect by itself). */
  cut(code: SignalingErrorCode, message: string): void
}

/** Take over a freshly connected socket: send the challenge and handle its events. */
export function handleConnection(ctx: ConnectionContext, socket: SignalingSocket): Connection {
  const { config, registry, metrics, log } = ctx
  const connectedAt = Date.now()
  const guard = createGuard(ctx, socket, () => registration.member?.partyId)
  const registration = createRegistration(ctx, socket, guard)
  const routing = createRouting(ctx, socket, guard, () => registration.member)
  const handlers: Record<keyof ClientToServerEvents, EventHandler> = {
    ...routing,
    register: registration.register,
  }

  metrics.count('connections')
  log.debug('connected', { socketId: socket.id })

  for (const [event, handler] of Object.entries(handlers)) {
    socket.on(event as keyof ClientToServerEvents, (...args: unknown[]) => {
      const ack = ackOf(args)
      const raw = args.length > (ack ? 1 : 0) ? args[0] : undefined
      handler(raw, ack).catch((error: unknown) =>
        log.error('handler_failed', { socketId: socket.id, event, error }),
      )
    })
  }

  socket.on('disconnect', (reason) => {
    guard.close()
    const member = registration.member
    log.debug('disconnected', { socketId: socket.id, partyId: member?.partyId, reason })
    if (!member) return
    registry.remove(member).then(
      (removed) => {
        if (removed) for (const room of removed.rooms) announce(ctx, room, 'left', removed.entry)
      },
      (error: unknown) => log.error('remove_failed', { partyId: member.partyId, error }),
    )
  })

  socket.emit('challenge', registration.challenge)

  return {
    socket,
    get partyId() {
      return registration.member?.partyId
    },
    sweep(now) {
      const member = registration.member
      if (!member && !registration.pending && now - connectedAt > config.registrationTimeoutMs) {
        guard.cut('REGISTRATION_TIMEOUT', `not registered within ${config.registrationTimeoutMs} ms`)
      } else if (member && now - guard.lastActivity > config.heartbeatTimeoutMs) {
        guard.cut('HEARTBEAT_TIMEOUT', `silent for more than ${config.heartbeatTimeoutMs} ms`)
      }
    },
    cut(code, message) {
      guard.cut(code, message)
    },
  }
}
