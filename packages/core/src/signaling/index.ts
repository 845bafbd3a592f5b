/**
 * The signaling seam of `@conclave/core`: the protocol (typed once for server and client), the
 * run-time validators of its payloads, and the client. `src/index.ts` re-exports all of it.
 * @module
 */
export * from './client.ts'
export * from './protocol.ts'
export * from './validate.ts'
