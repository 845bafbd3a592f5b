/**
 * `@conclave/core/signaling`: the signaling protocol, typed once for server and client
 * ({@link ClientToServerEvents}, {@link ServerToClientEvents}), the run-time validators of every
 * payload (a server validates what it receives: `validateRegisterRequest` …), its error codes,
 * and the client ({@link createSignalingClient}). A signaling server or another client
 * implementation needs this; the registration's signed bytes are in `@conclave/core/wire`.
 * @packageDocumentation
 * @module @conclave/core/signaling
 */

export { SIGNALING_ERROR_CODES } from '../errors.ts'
export * from '../signaling/client.ts'
export * from '../signaling/protocol.ts'
export * from '../signaling/validate.ts'
