/**
 * `@conclave/core/wire`: every byte format Conclave puts on a link or signs, for test vectors
 * and independent implementations (DESIGN "Wire formats"): frames and records, envelopes and
 * batches, the handshake, relay messages, grants, proposals and session ids, consistent
 * broadcast's echoes, the signed contexts, and the Reader / Writer they are built with.
 *
 * Every decoder checks versions, lengths and tags and throws a `ConclaveError` with a `DECODE_*`
 * code; nothing here touches a socket or a key store.
 * @packageDocumentation
 * @module @conclave/core/wire
 */

export {
  assertBytes,
  compareBytes,
  concatBytes,
  describe,
  equalBytes,
  exactBuffer,
  Reader,
  Writer,
} from '../bytes.ts'
export { BROADCAST_RECIPIENT } from '../ids.ts'
export { decodeEcho, echoKind, encodeEcho } from '../session/evidence.ts'
export * from '../wire/contexts.ts'
export * from '../wire/envelope.ts'
export * from '../wire/frame.ts'
export { decodeGrant, GRANT_VERSION, type Grant, grantSignedBytes } from '../wire/grant.ts'
export * from '../wire/handshake.ts'
export * from '../wire/proposal.ts'
export * from '../wire/relay.ts'
export { deriveSessionId, type SessionIdInput } from '../wire/sid.ts'
