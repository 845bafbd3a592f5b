/**
 * What the per-socket modules share: the typed socket.io server and socket, the context every
 * connection gets, the socket.io room names, and presence announcements.
 * @module
 */
import type {
  ClientToServerEvents,
  PresenceEntry,
  ServerToClientEvents,
  SignalingLimits,
} from '@conclave/core/signaling'
import type { Server, Socket } from 'socket.io'
import type { SignalingServerConfig } from './config.ts'
import type { Logger } from './log.ts'
import type { SignalingMetrics } from './metrics.ts'
import type { Registry } from './registry.ts'

/** Strict Ed25519 verification: `(publicKey, message, signature) → valid?`, never throwing. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>

/** The typed socket.io server of the signaling protocol. */
export type SignalingIo = Server<ClientToServerEvents, ServerToClientEvents>

/** A typed server-side socket. */
export type SignalingSocket = Socket<ClientToServerEvents, ServerToClientEvents>

/** What every connection shares. */
export interface ConnectionContext {
  io: SignalingIo
  config: SignalingServerConfig
  /** The public origin named in challenges. */
  origin: string
  registry: Registry
  metrics: SignalingMetrics
  log: Logger
  verify: VerifyFn
}

/**
 * socket.io room of the one socket holding a PartyId: how signals and frames are addressed, so
 * that delivery works across instances once the Redis adapter is in.
 */
export const partyRoom = (partyId: string): string => `p:${partyId}`

/** socket.io room of a signaling room: how presence is announced. */
export const roomRoom = (room: string): string => `r:${room}`

/** The limits announced to clients in the challenge. */
export function announcedLimits(config: SignalingServerConfig): SignalingLimits {
  return {
    maxPayloadBytes: config.maxPayloadBytes,
    eventsPerSecond: config.eventsPerSecond,
    roomsPerSocket: config.roomsPerSocket,
    partiesPerRoom: config.partiesPerRoom,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
  }
}

/** Announce a presence change to the parties of a room (but `except`, a socket id). */
export function announce(
  ctx: ConnectionContext,
  room: string,
  event: 'joined' | 'left',
  party: PresenceEntry,
  except?: string,
): void {
  const target = except === undefined ? ctx.io.to(roomRoom(room)) : ctx.io.to(roomRoom(room)).except(except)
  target.emit('presence', { room, event, party })
  ctx.metrics.count('presenceEvents')
}
