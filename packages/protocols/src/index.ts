/**
 * `@conclave/protocols`: reference MPC protocols written on the Conclave session API.
 * @packageDocumentation
 */
export { runSecureSum, SECURE_SUM, type SecureSumOptions } from './secure-sum.ts'
