/**
 * The events of a registered party: `join`, `leave`, `signal`, `relay`, `heartbeat`.
 *
 * Every payload is checked with core's validators before it is used; the sender of a `signal`
 * or `relay` is stamped from the registration, never taken from the payload; and nothing is
 * forwarded unless both parties are in the room, as the {@link Registry} says.
 * @module
 */
import {
  type SignalingErrorCode,
  validateHeartbeatRequest,
  validateJoinRequest,
  validateRelayRequest,
  validateSignalRequest,
} from '@conclave/core/signaling'
import { announce, type ConnectionContext, partyRoom, roomRoom, type SignalingSocket } from './context.ts'
import type { AckFn, Guard, Where } from './guard.ts'
import type { Member, Registry } from './registry.ts'

/** A handler of one client event: the payload, and the ack when the client asked for one. */
export type EventHandler = (raw: unknown, ack: AckFn | undefined) => Promise<void>

/** The handlers of a registered party's events. */
export type RoutingHandlers = Record<'join' | 'leave' | 'signal' | 'relay' | 'heartbeat', EventHandler>

/** Create the handlers for one socket; `member()` is its registration (undefined before). */
export function createRouting(
  ctx: ConnectionContext,
  socket: SignalingSocket,
  guard: Guard,
  member: () => Member | undefined,
): RoutingHandlers {
  const { config, registry, metrics } = ctx
  let lastTouch = 0

  function registered(event: string, ack: AckFn | undefined): Member | undefined {
    const who = member()
    if (!who) guard.refuse('NOT_REGISTERED', `register before "${event}"`, event, ack)
    return who
  }

  /** Note activity in the registry; throttled unless `force`, so a shared store is not written per frame. */
  function touch(who: Member, force: boolean, health?: number): void {
    const now = Date.now()
    if (!force && now - lastTouch < 1000) return
    lastTouch = now
    void registry.touch(who, health)
  }

  /** The membership rule of `signal` and `relay`: both parties in the room, and not to oneself. */
  async function refusal(
    reg: Registry,
    who: Member,
    room: string,
    to: string,
  ): Promise<[SignalingErrorCode, string] | undefined> {
    if (to === who.partyId) return ['BAD_PAYLOAD', 'addressed to oneself']
    if (!(await reg.isMember(room, who.partyId))) return ['NOT_IN_ROOM', `not in room ${room}`]
    if (!(await reg.isMember(room, to))) return ['PEER_NOT_IN_ROOM', `${to} is not in room ${room}`]
    return undefined
  }

  async function routable(event: string, who: Member, where: Required<Where>, ack: AckFn | undefined) {
    const no = await refusal(registry, who, where.room, where.to)
    if (no) guard.refuse(no[0], no[1], event, ack, where)
    return no === undefined
  }

  return {
    async join(raw, ack) {
      const who = registered('join', ack)
      if (!who) return
      const req = validateJoinRequest(raw)
      if (!req.ok) return guard.refuse(req.code, req.message, 'join', ack)
      const { room } = req.value
      const result = await registry.join(room, who, config)
      if (!result.ok) return guard.refuse(result.code, `cannot join ${room}`, 'join', ack, { room })
      if (result.added) {
        await socket.join(roomRoom(room))
        announce(ctx, room, 'joined', result.self, socket.id)
      }
      ack?.({ ok: true, peers: result.peers })
    },

    async leave(raw, ack) {
      const who = registered('leave', ack)
      if (!who) return
      const req = validateJoinRequest(raw)
      if (!req.ok) return guard.refuse(req.code, req.message, 'leave', ack)
      const { room } = req.value
      if (await registry.leave(room, who)) {
        await socket.leave(roomRoom(room))
        const entry = await registry.presence(who.partyId)
        if (entry) announce(ctx, room, 'left', entry)
      }
      ack?.({ ok: true })
    },

    async signal(raw, ack) {
      const started = performance.now()
      const who = registered('signal', ack)
      if (!who) return
      const req = validateSignalRequest(raw, config.maxPayloadBytes)
      if (!req.ok) return guard.refuse(req.code, req.message, 'signal', ack)
      const { room, to, data } = req.value
      if (!(await routable('signal', who, { room, to }, ack))) return
      ctx.io.to(partyRoom(to)).emit('signal', { room, from: who.partyId, data })
      metrics.count('signalsRelayed')
      metrics.observe('signal', (performance.now() - started) / 1000)
      touch(who, false)
      ack?.({ ok: true })
    },

    async relay(raw) {
      const started = performance.now()
      const who = registered('relay', undefined)
      if (!who) return
      const req = validateRelayRequest(raw, config.maxPayloadBytes)
      if (!req.ok) return guard.refuse(req.code, req.message, 'relay', undefined)
      const { room, to, frame } = req.value
      if (!guard.takeRelayBytes(frame.byteLength)) {
        const message = `more than ${config.relayBytesPerSecond} relay bytes per second`
        return guard.refuse('RATE_LIMITED', message, 'relay', undefined, { room, to })
      }
      if (!(await routable('relay', who, { room, to }, undefined))) return
      ctx.io.to(partyRoom(to)).emit('relay', { room, from: who.partyId, frame })
      metrics.count('relayFrames')
      metrics.count('relayBytes', frame.byteLength)
      metrics.observe('relay', (performance.now() - started) / 1000)
      touch(who, false)
    },

    async heartbeat(raw, ack) {
      const who = registered('heartbeat', ack)
      if (!who) return
      const req = validateHeartbeatRequest(raw)
      if (!req.ok) return guard.refuse(req.code, req.message, 'heartbeat', ack)
      touch(who, true, req.value.health)
      ack?.({ ok: true })
    },
  }
}
