/**
 * The one driver of child processes that print JSON lines (`conclave-party --json`, the
 * benchmark's children, the signaling server): spawn, read stdout line by line, wait for a line
 * matching a predicate within a time limit, keep the tail of stderr, kill by PID. A
 * {@link ChildGroup} kills every child it holds on cleanup, and on exit of this process.
 * Used by the node-party tests, the e2e suite and the benchmark.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'

/** A JSON line of any child: `{ "event": …, … }`. */
export type JsonLine = { event: string; [k: string]: unknown }

/** Options of {@link JsonLinesChild}. */
export interface JsonLinesChildOptions<L> {
  /**
   * Turn one non-empty stdout line into a record; `undefined` drops it.
   * @default JSON, or `{ event: 'text', text }` for a line that is not JSON
   */
  parse?: (text: string) => L | undefined
  /** A line that fails every pending wait (e.g. a child's `error` report): the error to fail them with. */
  failure?: (line: L) => Error | undefined
  /** Called with each stderr line as it comes (e.g. to forward it). */
  onStderrLine?: (line: string) => void
  /** How many of the last lines and stderr characters an error message quotes. @default 14, 2000 */
  context?: { lines: number; stderrChars: number }
  /** A group that holds the child until it ends (see {@link ChildGroup}). */
  group?: ChildGroup
}

interface Wait<L> {
  pred: (l: L) => boolean
  take: boolean
  what: string
  resolve: (l: L) => void
  reject: (e: Error) => void
  timer: ReturnType<typeof setTimeout>
}

/** stderr chunks kept: the tail is what explains a failure. */
const STDERR_CHUNKS = 200

function parseJsonLine<L>(text: string): L {
  try {
    const value = JSON.parse(text) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as L
  } catch {
    // not JSON: kept as text below
  }
  return { event: 'text', text } as L
}

/**
 * A running child process whose stdout is JSON lines.
 *
 * Two ways to wait: {@link waitFor} returns the first matching line, past or future, and may
 * return the same line again; {@link take} consumes it, so that a request/answer protocol gets
 * each answer once, in order.
 */
export class JsonLinesChild<L extends { event: string } = JsonLine> {
  /** Every line so far, in order. */
  readonly lines: L[] = []
  /** The tail of stderr, in chunks. */
  readonly stderr: string[] = []
  /** Resolves with the exit code (null after a signal) once the child's stdio is closed. */
  readonly exited: Promise<number | null>
  /** How the child ended, once its stdio is closed (no line can follow). */
  ended: { code: number | null; signal: NodeJS.Signals | null } | undefined
  /** When the last line came (`Date.now()` of this process). */
  lastLineAt = Date.now()
  private readonly waits: Wait<L>[] = []
  private readonly taken = new WeakSet<object>()
  private readonly listeners: ((l: L) => boolean)[] = []
  private readonly parse: (text: string) => L | undefined
  private readonly context: { lines: number; stderrChars: number }

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
    private readonly options: JsonLinesChildOptions<L> = {},
  ) {
    this.parse = options.parse ?? parseJsonLine
    this.context = options.context ?? { lines: 14, stderrChars: 2000 }
    let out = ''
    process.stdout?.setEncoding('utf8')
    process.stdout?.on('data', (chunk: string) => {
      out += chunk
      for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
        this.onText(out.slice(0, i))
        out = out.slice(i + 1)
      }
    })
    let err = ''
    process.stderr?.setEncoding('utf8')
    process.stderr?.on('data', (chunk: string) => {
      this.stderr.push(chunk)
      if (this.stderr.length > STDERR_CHUNKS) this.stderr.splice(0, STDERR_CHUNKS / 2)
      if (!options.onStderrLine) return
      err += chunk
      for (let i = err.indexOf('\n'); i >= 0; i = err.indexOf('\n')) {
        options.onStderrLine(err.slice(0, i))
        err = err.slice(i + 1)
      }
    })
    process.stdin?.on('error', () => undefined)
    this.exited = new Promise((resolve) =>
      process.once('close', (code, signal) => {
        if (out) this.onText(out)
        this.ended = { code, signal }
        for (const w of this.waits.splice(0)) {
          clearTimeout(w.timer)
          w.reject(this.failure(w.what))
        }
        resolve(code)
      }),
    )
    options.group?.add(this)
  }

  /** How many waits are pending. */
  get waiting(): number {
    return this.waits.length
  }

  /** The child's PID (-1 if the spawn failed). */
  get pid(): number {
    return this.process.pid ?? -1
  }

  private onText(raw: string): void {
    const text = raw.trim()
    if (!text) return
    const line = this.parse(text)
    if (line === undefined) return
    this.lines.push(line)
    this.lastLineAt = Date.now()
    if (this.listeners.some((l) => l(line))) {
      this.taken.add(line)
      return
    }
    const e = this.options.failure?.(line)
    if (e) {
      for (const w of this.waits.splice(0)) {
        clearTimeout(w.timer)
        w.reject(e)
      }
      return
    }
    for (const w of [...this.waits]) {
      if (this.taken.has(line) || !w.pred(line)) continue
      this.waits.splice(this.waits.indexOf(w), 1)
      clearTimeout(w.timer)
      if (w.take) this.taken.add(line)
      w.resolve(line)
    }
  }

  /** An error naming what did not come, with the last lines and stderr; `why` unset: the child ended. */
  failure(what: string, why?: string): Error {
    const when = why ?? `before it ended (code ${this.ended?.code}, signal ${this.ended?.signal})`
    const { lines, stderrChars } = this.context
    const tail = lines > 0 ? `; last lines: ${JSON.stringify(this.lines.slice(-lines))}` : ''
    const stderr = this.stderr.join('').slice(-stderrChars)
    return new Error(`${this.name}: no ${what} ${when}${tail}${stderr ? `; stderr: ${stderr}` : ''}`)
  }

  /**
   * The first line, past or future, matching `pred` (the same line may be returned again; a
   * line a `take` or a listener consumed is not).
   */
  waitFor<T extends L>(pred: (l: L) => l is T, ms?: number, what?: string): Promise<T>
  waitFor(pred: (l: L) => boolean, ms?: number, what?: string): Promise<L>
  waitFor(pred: (l: L) => boolean, ms = 30_000, what = 'line'): Promise<L> {
    return this.wait(pred, false, ms, what)
  }

  /** The first line, past or future, matching `pred` that no earlier `take` returned; consumes it. */
  take<T extends L>(pred: (l: L) => l is T, ms?: number, what?: string): Promise<T>
  take(pred: (l: L) => boolean, ms?: number, what?: string): Promise<L>
  take(pred: (l: L) => boolean, ms = 30_000, what = 'line'): Promise<L> {
    return this.wait(pred, true, ms, what)
  }

  private wait(pred: (l: L) => boolean, take: boolean, ms: number, what: string): Promise<L> {
    const seen = this.lines.find((l) => !this.taken.has(l) && pred(l))
    if (seen) {
      if (take) this.taken.add(seen)
      return Promise.resolve(seen)
    }
    if (this.ended) return Promise.reject(this.failure(what))
    return new Promise((resolve, reject) => {
      const w: Wait<L> = {
        pred,
        take,
        what,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waits.indexOf(w)
          if (i >= 0) this.waits.splice(i, 1)
          reject(this.failure(what, `within ${ms} ms`))
        }, ms),
      }
      this.waits.push(w)
    })
  }

  /** Hand every future line for which `handler` returns true to it alone: no wait sees it. */
  listen(handler: (l: L) => boolean): void {
    this.listeners.push(handler)
  }

  /**
   * Write one JSON line to the child's stdin (spawned with `stdin: true`).
   * @throws Error when the child has ended or has no stdin
   */
  send(data: unknown): void {
    if (this.ended || this.process.exitCode !== null || this.process.signalCode !== null)
      throw new Error(`${this.name} has exited (${this.exitText()})`)
    if (!this.process.stdin) throw new Error(`${this.name} has no stdin`)
    this.process.stdin.write(`${JSON.stringify(data)}\n`)
  }

  /** How the child ended, for messages: the signal or code, and its last stderr. */
  exitText(): string {
    const how = this.process.signalCode ?? `code ${this.process.exitCode}`
    const stderr = this.stderr.join('').trim().split('\n').slice(-3).join(' | ')
    return `${how}${stderr ? `: ${stderr}` : ''}`
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null && this.pid > 0
  }

  /** Send `signal` to the child by PID, now (nothing if it has ended). */
  signal(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.running) return
    try {
      globalThis.process.kill(this.pid, signal)
    } catch {
      // already gone
    }
  }

  /** Kill by PID (SIGKILL unless told otherwise) and wait until it has ended. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.signal(signal)
    await this.exited
  }

  /** SIGTERM by PID; SIGKILL if it is still there `graceMs` later. Resolves once it has ended. */
  async terminate(graceMs = 1000): Promise<void> {
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }
}

/** What a {@link ChildGroup} needs of a child (any {@link JsonLinesChild}). */
export interface GroupMember {
  readonly exited: Promise<unknown>
  signal(signal?: NodeJS.Signals): void
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** Children that are killed together: on cleanup, and (see {@link killOnExit}) when this process exits. */
export class ChildGroup {
  /** The children that have not ended yet. */
  readonly live = new Set<GroupMember>()

  /** Hold `child` until it ends. */
  add(child: GroupMember): void {
    this.live.add(child)
    void child.exited.then(() => this.live.delete(child))
  }

  /** SIGKILL every live child by PID, now, without waiting (for `process.on('exit')`). */
  killNow(): void {
    for (const c of this.live) c.signal('SIGKILL')
  }

  /** Kill every live child by PID and wait until they have ended. */
  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all([...this.live].map((c) => c.kill(signal)))
  }

  /** Kill the live children by PID when this process exits, normally or by an uncaught error. */
  killOnExit(): this {
    globalThis.process.once('exit', () => this.killNow())
    return this
  }
}

/** Options of {@link spawnJsonLines}. */
export interface SpawnOptions<L> extends JsonLinesChildOptions<L> {
  /** Working directory. @default this process's */
  cwd?: string
  /** Variables added to this process's environment. */
  env?: NodeJS.ProcessEnv
  /** Flags for `node` before the script (e.g. `['--import', 'tsx']`). */
  nodeArgs?: string[]
  /** Pipe stdin (for {@link JsonLinesChild.send}). @default false */
  stdin?: boolean
}

/** Spawn `node [nodeArgs] script args…` and drive it as a {@link JsonLinesChild}. */
export function spawnJsonLines<L extends { event: string } = JsonLine>(
  name: string,
  script: string,
  args: readonly string[],
  options: SpawnOptions<L> = {},
): JsonLinesChild<L> {
  const { cwd, env, nodeArgs = [], stdin = false, ...driver } = options
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    ...(cwd ? { cwd } : {}),
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  return new JsonLinesChild<L>(name, child, driver)
}
