/**
 * `@conclave/protocols`: reference MPC protocols written on the Conclave session API.
 * @packageDocumentation
 * @module @conclave/protocols
 */

export {
  isProtocolError,
  PROTOCOL_ERROR_CODES,
  ProtocolError,
  type ProtocolErrorCode,
  type ProtocolErrorDetails,
} from './errors.ts'
export * from './frost/index.ts'
export { runSecureSum, SECURE_SUM, type SecureSumOptions } from './secure-sum.ts'
