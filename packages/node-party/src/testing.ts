/**
 * `@conclave/node-party/testing`: the JSON-lines child driver, `conclave-party` as a child
 * process, and the events it prints, for tests, the e2e suite and the benchmark.
 * @module
 */
export type * from './events.ts'
export { isEvent } from './events.ts'
export {
  ChildGroup,
  type JsonLine,
  JsonLinesChild,
  type JsonLinesChildOptions,
  type SpawnOptions,
  spawnJsonLines,
} from './testing/json-lines-child.ts'
export { PARTY_BIN, type PartyChild, spawnParty } from './testing/party.ts'
