/**
 * Integration-test harness: a real signaling server in this process, and `conclave-party`
 * child processes whose JSON lines the test reads. Every child is killed by PID on cleanup.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createNobleBackend, exportIdentity, generateIdentity, type Identity } from '@conclave/core'
import { createSignalingServer, type SignalingServer } from '@conclave/signaling-server'

const BIN = fileURLToPath(new URL('../bin/conclave-party.js', import.meta.url))

/**
 * Node flags that run a TypeScript fixture from the sources: tsx's hooks, and the export condition
 * that resolves `@conclave/*` to their `src/*.ts` (tsx does not read tsconfig's
 * `customConditions`). The `conclave-party` bin runs the built dist/ instead.
 */
export const FROM_SOURCE = ['--conditions=@conclave/source', '--import', 'tsx']

/** One JSON line of a child. */
export type Line = { event: string; [k: string]: unknown }

/** A running `conclave-party`. */
export class PartyProcess {
  readonly lines: Line[] = []
  readonly stderr: string[] = []
  private readonly waiters: {
    pred: (l: Line) => boolean
    resolve: (l: Line) => void
    /** The child ended before a matching line. */
    onEnd: () => void
  }[] = []
  readonly exited: Promise<number | null>
  /** When the last line came (`Date.now()` of this process). */
  lastLineAt = Date.now()
  /** How the child ended, once its stdio is closed (no line can follow). */
  ended: { code: number | null; signal: NodeJS.Signals | null } | undefined

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buf = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (!text.trim()) continue
        let line: Line
        try {
          line = JSON.parse(text) as Line
        } catch {
          line = { event: 'text', text }
        }
        this.lines.push(line)
        this.lastLineAt = Date.now()
        for (const w of [...this.waiters]) {
          if (w.pred(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1)
            w.resolve(line)
          }
        }
      }
    })
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (c: string) => this.stderr.push(c))
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    child.once('close', (code, signal) => {
      this.ended = { code, signal }
      for (const w of this.waiters.splice(0)) w.onEnd()
    })
  }

  /** `why`: "in 30000 ms", or undefined when the child ended. */
  private failure(what: string, why?: string): Error {
    const when = why ?? `before it ended (code ${this.ended?.code}, signal ${this.ended?.signal})`
    return new Error(
      `${this.name}: no ${what} ${when}; lines: ${JSON.stringify(this.lines.slice(-14))}; stderr: ${this.stderr.join('').slice(-2000)}`,
    )
  }

  /** The first line (past or future) matching `pred`. */
  waitFor(pred: (l: Line) => boolean, ms = 30_000, what = 'line'): Promise<Line> {
    const seen = this.lines.find(pred)
    if (seen) return Promise.resolve(seen)
    if (this.ended) return Promise.reject(this.failure(what))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(this.failure(what, `in ${ms} ms`))
      }, ms)
      const waiter = {
        pred,
        resolve: (l: Line) => {
          clearTimeout(timer)
          resolve(l)
        },
        onEnd: () => {
          clearTimeout(timer)
          reject(this.failure(what))
        },
      }
      this.waiters.push(waiter)
    })
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.pid) this.child.kill(signal)
  }
}

/** A test's world: a temp dir, a signaling server, children. */
export class World {
  server: SignalingServer | undefined
  url = ''
  port = 0
  dir = ''
  readonly children: PartyProcess[] = []
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
  party(name: string, args: string[]): PartyProcess {
    const child = spawn(
      process.execPath,
      [BIN, 'run', '--json', '--loopback-only', '--signal', this.url, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CONCLAVE_ICE_SERVERS: '' },
      },
    )
    const p = new PartyProcess(name, child)
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
    for (const c of this.children) c.kill()
    await Promise.all(this.children.map((c) => c.exited))
    await this.stopServer()
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }
}
