/**
 * Child processes of the e2e suite (the signaling server, `conclave-party` Node parties, a
 * Vitest run): spawned and driven by node-party's one JSON-lines child driver
 * (`@conclave/node-party/testing`), killed by PID. Every child is in one group, so that
 * `killAll()` leaves nothing behind, whatever a test did, and this process's exit kills the rest.
 */
import { fileURLToPath } from 'node:url'
import {
  ChildGroup,
  type JsonLine,
  type JsonLinesChild,
  type PartyChild,
  spawnJsonLines,
  spawnParty,
} from '@conclave/node-party/testing'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** One JSON line printed by a child (`{ "event": …, … }`). */
export type Line = JsonLine

/** A running child process whose stdout is JSON lines. */
export type Child = JsonLinesChild<Line>

const group = new ChildGroup().killOnExit()

/** Spawn `node SCRIPT ARGS…` from the repository root. */
export function spawnNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return spawnJsonLines(name, script, args, { cwd: ROOT, env, group })
}

/** Spawn `conclave-party ARGS…` from the repository root, its lines read as the CLI's events. */
export function spawnPartyChild(name: string, args: string[], env: NodeJS.ProcessEnv = {}): PartyChild {
  return spawnParty(name, args, { cwd: ROOT, env, group })
}

/** Kill every child still running (by PID) and wait for them. */
export async function killAll(): Promise<void> {
  await group.killAll()
}
