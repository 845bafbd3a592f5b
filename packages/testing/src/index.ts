/**
 * `@conclave/testing`: compliance suites that every implementation of a seam of
 * `@conclave/core` must pass, written on vitest (a peer dependency: it runs them). A package of
 * its own so that installing `@conclave/core` never brings vitest along.
 * @packageDocumentation
 * @module @conclave/testing
 */

export type {
  MakeSessionHost,
  SessionHostSetup,
  SessionHostTestOptions,
} from './host-harness.ts'
export { randomSid, until } from './host-harness.ts'
export { runSessionHostTests } from './session-host-compliance.ts'
export { runTransportTests, type TransportPair } from './transport-compliance.ts'
