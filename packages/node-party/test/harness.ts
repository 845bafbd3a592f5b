/**
 * Integration-test harness: a real signaling server in this process, and `conclave-party`
 * child processes whose JSON lines the test reads (through the package's one child driver,
 * `src/testing/`). Every child is killed by PID on cleanup.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportIdentity, generateIdentity, type Identity } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createSignalingServer, type SignalingServer } from '@conclave/signaling-server'
import type { CliLine } from '../src/events.ts'
import type { JsonLinesChild } from '../src/testing/json-lines-child.ts'
import { type PartyChild, spawnParty } from '../src/testing/party.ts'

/** One line of a `conclave-party` child. */
export type Line = CliLine

/**
 * Node flags that run a TypeScript fixture from the sources: tsx's hooks, and the export condition
 * that resolves `@conclave/*` to their `src/*.ts` (tsx does not read tsconfig's
 * `customConditions`). The `conclave-party` bin runs the built dist/ instead.
 */
export const FROM_SOURCE = ['--conditions=@conclave/source', '--import', 'tsx']

/** What the harness keeps of any child it kills on cleanup (a `conclave-party`, a fixture). */
export type HarnessChild = Pick<
  JsonLinesChild<{ event: string }>,
  'name' | 'lines' | 'stderr' | 'ended' | 'exited' | 'kill'
>

/** A test's world: a temp dir, a signaling server, children. */
export class World {
  server: SignalingServer | undefined
  url = ''
  port = 0
  dir = ''
  readonly children: HarnessChild[] = []
  private readonly crypto = createNobleBackend()

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'conclave-it-'))
    await this.startServer(0)
  }

  async startServer(port: number): Promise<void> {
    this.server = createSignalingServer({ host: '127.0.0.1', port, logLevel: 'error' })
    const { url, port: bound } = await this.server.start()
    this.url = url
    this.port = bound
  }

  async stopServer(): Promise<void> {
    await this.server?.stop()
    this.server = undefined
  }

  /** A new identity written to a key file. */
  async key(name: string): Promise<{ file: string; identity: Identity }> {
    const identity = await generateIdentity(this.crypto, { extractable: true })
    const file = join(this.dir, `${name}.json`)
    await writeFile(file, JSON.stringify(await exportIdentity(this.crypto, identity, name)), { mode: 0o600 })
    return { file, identity }
  }

  async roster(name: string, ids: string[]): Promise<string> {
    const file = join(this.dir, `${name}.roster.json`)
    await writeFile(file, JSON.stringify({ version: 1, parties: ids.map((id) => ({ id })) }))
    return file
  }

  /** Spawn `conclave-party run …` with JSON output and loopback-only candidates. */
  party(name: string, args: string[]): PartyChild {
    const p = spawnParty(name, ['run', '--json', '--loopback-only', '--signal', this.url, ...args])
    this.children.push(p)
    return p
  }

  async cleanup(): Promise<void> {
    if (process.env.CONCLAVE_IT_DUMP) {
      const { writeFileSync } = await import('node:fs')
      writeFileSync(
        process.env.CONCLAVE_IT_DUMP,
        JSON.stringify(
          this.children.map((c) => ({
            name: c.name,
            ended: c.ended,
            lines: c.lines,
            stderr: c.stderr.join(''),
          })),
          null,
          1,
        ),
      )
    }
    await Promise.all(this.children.map((c) => c.kill()))
    await this.stopServer()
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }
}
