/**
 * `@conclave/core/channel`: the end-to-end encrypted channel over one link, for a session host
 * of your own: the authenticated key exchange ({@link Handshake}), the channel that encrypts,
 * frames, acknowledges and keeps alive ({@link SecureChannel}), the framer that packs records
 * into frames and reassembles chunks ({@link Packer}, {@link Reassembler}), and the event-loop
 * turn on which a turn's records share frames ({@link NextTurn}; Node's faster
 * `setImmediateTurn` is in `@conclave/core/node`).
 * @packageDocumentation
 * @module @conclave/core/channel
 */

export { maxPlaintext, Packer, Reassembler } from '../channel/framer.ts'
export { Handshake, type HandshakeParams, type HandshakeResult } from '../channel/handshake.ts'
export { createMessageChannelTurn, messageChannelTurn, type NextTurn } from '../channel/next-turn.ts'
export {
  SecureChannel,
  type SecureChannelOptions,
  type SecureChannelSink,
} from '../channel/secure-channel.ts'
