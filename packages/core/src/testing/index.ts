/**
 * `@conclave/core/testing`: compliance suites that every implementation of a seam must pass
 * (vitest is required to use them).
 * @packageDocumentation
 */

export type {
  MakeSessionHost,
  SessionHostSetup,
  SessionHostTestOptions,
} from './host-harness.ts'
export { runSessionHostTests } from './session-host-compliance.ts'
export { runTransportTests, type TransportPair } from './transport-compliance.ts'
