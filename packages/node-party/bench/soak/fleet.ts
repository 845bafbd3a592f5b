/**
 * The soak's processes: one `conclave-signal` and the serving `conclave-party run --serve`
 * parties (built CLIs, loopback only, under the heap-snapshot hook), and a fresh
 * `conclave-party` proposer process per session. Every child is killed by PID on cleanup and on
 * exit of this process.
 * @module
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportIdentity, generateIdentity, type PartyId } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { type CliLine, isEvent } from '../../src/events.ts'
import {
  ChildGroup,
  type JsonLine,
  type JsonLinesChild,
  spawnJsonLines,
} from '../../src/testing/json-lines-child.ts'
import { PARTY_BIN } from '../../src/testing/party.ts'

/** The hook every measured process is started with (`node --require`). */
const HOOK = fileURLToPath(new URL('./heap-hook.cjs', import.meta.url))
const SIGNAL_BIN = fileURLToPath(new URL('../../../signaling-server/bin/conclave-signal.js', import.meta.url))

/** Every child of the soak; all are killed on cleanup and when this process exits. */
export const group = new ChildGroup().killOnExit()

const crypto = createNodeCrypto()

/**
 * The children run the built CLIs (dist/): this process's `NODE_OPTIONS` (the sources' export
 * condition and tsx, from `pnpm soak`) are not passed on.
 */
const BUILT: NodeJS.ProcessEnv = { NODE_OPTIONS: '', NODE_NO_WARNINGS: '1' }

/** A key file in `dir` whose PartyId satisfies `accept` (drawn again until it does). */
export async function keyFile(
  dir: string,
  name: string,
  accept: (id: PartyId) => boolean,
): Promise<{ file: string; id: PartyId }> {
  for (let i = 0; i < 1000; i++) {
    const identity = await generateIdentity(crypto, { extractable: true })
    if (!accept(identity.id)) continue
    const file = join(dir, `${name}.json`)
    await writeFile(file, JSON.stringify(await exportIdentity(crypto, identity, name)), { mode: 0o600 })
    return { file, id: identity.id }
  }
  throw new Error(`no acceptable key for ${name} in 1000 draws`)
}

/** A measured process: its driver, and how many threads write a heap snapshot when asked. */
export interface Measured {
  name: string
  child: JsonLinesChild<JsonLine>
  /** Threads that write a snapshot (the main thread, and the session host's Worker if any). */
  threads: number
}

/** Environment of a measured process: where its snapshots go, and its name in their files. */
function hookEnv(heapDir: string, name: string): NodeJS.ProcessEnv {
  return { ...BUILT, CONCLAVE_SOAK_HEAP_DIR: heapDir, CONCLAVE_SOAK_NAME: name }
}

/** Start `conclave-signal` on a free port of 127.0.0.1; resolves with it and its URL. */
export async function startSignal(heapDir: string): Promise<{ measured: Measured; url: string }> {
  const child = spawnJsonLines<JsonLine>(
    'signal',
    SIGNAL_BIN,
    ['--host', '127.0.0.1', '--port', '0', '--log-level', 'error'],
    { nodeArgs: ['--expose-gc', '--require', HOOK], env: hookEnv(heapDir, 'signal'), group },
  )
  const line = await child.waitFor((l) => l.event === 'listening', 30_000, 'listening')
  return { measured: { name: 'signal', child, threads: 1 }, url: String(line.url) }
}

/** Common flags of every party of the soak. */
function partyArgs(url: string, room: string, key: string, input: number): string[] {
  const flags = ['run', '--json', '--loopback-only', '--signal', url, '--room', room, '--key', key]
  return [...flags, '--protocol', 'secure-sum', '--input', String(input), '--parties', '4']
}

/** Start a serving party (`--serve`), with its session host in a Worker unless `inThread`. */
export function startServing(
  o: { url: string; room: string; key: string; input: number; inThread: boolean; heapDir: string },
  name: string,
): Measured {
  const args = [
    ...partyArgs(o.url, o.room, o.key, o.input),
    '--serve',
    ...(o.inThread ? ['--in-thread'] : []),
  ]
  const child = spawnJsonLines<JsonLine>(name, PARTY_BIN, args, {
    nodeArgs: ['--expose-gc', '--require', HOOK],
    env: { CONCLAVE_ICE_SERVERS: '', ...hookEnv(o.heapDir, name) },
    group,
    context: { lines: 6, stderrChars: 1500 },
  })
  return { name, child, threads: o.inThread ? 1 : 2 }
}

/**
 * Run one session: a fresh proposer process (its own key, `--parties 4`: being the smallest
 * PartyId, it proposes) and wait for its result and its exit.
 * @returns the total it reported
 * @throws Error when it fails, reports an error, or takes longer than `timeoutMs`
 */
export async function propose(
  o: { url: string; room: string; key: string; input: number },
  name: string,
  timeoutMs: number,
): Promise<string> {
  const child = spawnJsonLines<CliLine>(
    name,
    PARTY_BIN,
    [...partyArgs(o.url, o.room, o.key, o.input), '--timeout', String(timeoutMs)],
    { env: { ...BUILT, CONCLAVE_ICE_SERVERS: '' }, group, context: { lines: 8, stderrChars: 1500 } },
  )
  try {
    const result = await child.waitFor(isEvent('result'), timeoutMs + 5000, 'result')
    const code = await Promise.race([
      child.exited,
      new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000).unref()),
    ])
    if (code !== 0) throw new Error(`${name} exited with ${code} after its result`)
    return String(result.total)
  } finally {
    await child.kill()
  }
}
