/**
 * `@conclave/core/testing`: compliance suites that every implementation of a seam must pass
 * (vitest is required to use them).
 * @packageDocumentation
 */
export { runTransportTests, type TransportPair } from './transport-compliance.ts'
