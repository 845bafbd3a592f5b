/**
 * Child processes of the e2e suite (the signaling server, `conclave-party` Node parties): spawned
 * with their stdout read as JSON lines, and killed by PID. Every child is registered so that
 * `killAll()` leaves nothing behind, whatever a test did.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** One JSON line printed by a child (`{ "event": …, … }`). */
export type Line = { event: string; [k: string]: unknown }

const live = new Set<Child>()

/** A running child process whose stdout is JSON lines. */
export class Child {
  readonly lines: Line[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<number | null>
  private readonly waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = []

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    live.add(this)
    let buf = ''
    process.stdout?.setEncoding('utf8')
    process.stdout?.on('data', (chunk: string) => {
      buf += chunk
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i).trim()
        buf = buf.slice(i + 1)
        if (text) this.line(text)
      }
    })
    process.stderr?.setEncoding('utf8')
    process.stderr?.on('data', (c: string) => {
      this.stderr.push(c)
      if (this.stderr.length > 200) this.stderr.splice(0, 100)
    })
    this.exited = new Promise((resolve) =>
      process.once('exit', (code) => {
        live.delete(this)
        resolve(code)
      }),
    )
  }

  get pid(): number {
    return this.process.pid ?? -1
  }

  private line(text: string): void {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      line = { event: 'text', text }
    }
    this.lines.push(line)
    for (const w of [...this.waiters]) {
      if (w.pred(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }

  /** The first line, past or future, matching `pred`. */
  waitFor(pred: (l: Line) => boolean, ms = 30_000, what = 'line'): Promise<Line> {
    const seen = this.lines.find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.name}: no ${what} within ${ms} ms; last lines: ${JSON.stringify(this.lines.slice(-12))}; stderr: ${this.stderr.join('').slice(-1500)}`,
          ),
        )
      }, ms)
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        },
      })
    })
  }

  /** Kill by PID (SIGKILL unless told otherwise) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null && this.pid > 0) {
      try {
        globalThis.process.kill(this.pid, signal)
      } catch {
        // already gone
      }
    }
    await this.exited
  }
}

/** Spawn `node SCRIPT ARGS…` from the repository root. */
export function spawnNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  return new Child(name, child)
}

// a test process that ends (normally or by an uncaught error) takes its children with it
process.once('exit', () => {
  for (const c of live) {
    try {
      process.kill(c.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

/** Kill every child still running (by PID) and wait for them. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()))
}
