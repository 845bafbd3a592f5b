/**
 * `conclave-party` as a child process of a test: its bin, spawned with `--json` output read as
 * {@link CliLine}s.
 * @module
 */
import { fileURLToPath } from 'node:url'
import type { CliLine } from '../events.ts'
import { type JsonLinesChild, type SpawnOptions, spawnJsonLines } from './json-lines-child.ts'

/** The `conclave-party` executable (a Node script). */
export const PARTY_BIN = fileURLToPath(new URL('../../bin/conclave-party.js', import.meta.url))

/** A running `conclave-party` whose stdout is read as {@link CliLine}s. */
export type PartyChild = JsonLinesChild<CliLine>

/**
 * Spawn `conclave-party ARGS…` (pass `--json` among them to get events). No ICE server is
 * configured unless `options.env` or ARGS name one (`CONCLAVE_ICE_SERVERS`, `…_FILE`,
 * `CONCLAVE_TURN_URL`): the test's own environment never adds one, so traffic stays on this machine.
 */
export function spawnParty(
  name: string,
  args: readonly string[],
  options: SpawnOptions<CliLine> = {},
): PartyChild {
  return spawnJsonLines<CliLine>(name, PARTY_BIN, args, {
    ...options,
    env: {
      CONCLAVE_ICE_SERVERS: '',
      CONCLAVE_ICE_SERVERS_FILE: '',
      CONCLAVE_TURN_URL: '',
      CONCLAVE_TURN_SECRET: '',
      ...options.env,
    },
  })
}
