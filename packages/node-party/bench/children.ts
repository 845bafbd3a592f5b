/**
 * The benchmark's children, on node-party's one JSON-lines child driver: each is a Node process
 * (`node --import tsx SCRIPT`, from the repository root) that takes commands `{ "cmd": … }` on
 * stdin and answers `{ "ev": … }` on stdout. Every child is killed by its PID when done, on
 * error, on SIGINT/SIGTERM and past the run's time limit.
 * @module
 */
import { join } from 'node:path'
import { type JsonLine, type JsonLinesChild, spawnJsonLines } from '../src/testing/json-lines-child.ts'
import { NODE_ARGS, PROFILE_DIR, ROOT, RUN_LIMIT_MS, VERBOSE } from './config.ts'
import { progress, sleep } from './results.ts'

/** One answer of a child (its `ev` is read as `event`). */
export type Message = JsonLine

/** The children not ended yet. */
export const children = new Set<Child>()

/** `{ "ev": … }` (or `{ "event": … }`) as a {@link Message}; other lines are dropped (shown when verbose). */
function parser(name: string): (text: string) => Message | undefined {
  return (text) => {
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      if (VERBOSE) process.stderr.write(`  [${name} stdout] ${text}\n`)
      return undefined
    }
    const event = parsed.ev ?? parsed.event
    return typeof event === 'string' ? { ...parsed, event } : undefined
  }
}

/** A benchmark child: commands in, answers out, each answer taken once and in order. */
export class Child {
  readonly driver: JsonLinesChild<Message>
  readonly pid: number

  constructor(
    readonly name: string,
    script: string,
    args: string[] = [],
    options: { profile?: boolean } = {},
  ) {
    const nodeArgs = ['--import', 'tsx']
    if (options.profile && NODE_ARGS.length > 0) nodeArgs.unshift(...NODE_ARGS)
    if (options.profile && PROFILE_DIR) {
      nodeArgs.unshift(
        '--cpu-prof',
        // one directory per child and Node's default file names (pid and thread id): a fixed
        // --cpu-prof-name is shared by every thread, and tsx's loader thread overwrites the
        // main thread's profile with its own
        `--cpu-prof-dir=${join(PROFILE_DIR, `${name}-${Date.now()}`)}`,
      )
    }
    const driver: JsonLinesChild<Message> = spawnJsonLines(name, script, args, {
      cwd: ROOT,
      env: { NODE_NO_WARNINGS: '1' },
      nodeArgs,
      stdin: true,
      parse: parser(name),
      // a child's `error` fails what is waited for; with nothing waited for, it is shown
      failure: (m) => {
        if (m.event !== 'error') return undefined
        const e = new Error(`${name}: ${String(m.message)}${m.cmd ? ` (${String(m.cmd)})` : ''}`)
        if (driver.waiting === 0) progress(`  ! ${e.message}`)
        return e
      },
      context: { lines: 0, stderrChars: 600 },
      ...(VERBOSE ? { onStderrLine: (line: string) => process.stderr.write(`  [${name}] ${line}\n`) } : {}),
    })
    this.driver = driver
    if (driver.pid < 0) throw new Error(`${name}: spawn failed`)
    this.pid = driver.pid
    children.add(this)
    void driver.exited.then(() => children.delete(this))
  }

  /** Whether it has ended. */
  get exited(): boolean {
    return !this.driver.running
  }

  /** Handle every message `ev` as it comes (instead of keeping it for {@link next}). */
  on(ev: string, handler: (m: Message) => void): void {
    this.driver.listen((m) => {
      if (m.event !== ev) return false
      handler(m)
      return true
    })
  }

  /** Send one command. */
  send(cmd: string, data: Record<string, unknown> = {}): void {
    this.driver.send({ cmd, ...data })
  }

  /** The next message `ev` (kept or to come), or a timeout error. */
  next(ev: string, timeoutMs = 30_000): Promise<Message> {
    return this.driver.take((m) => m.event === ev, timeoutMs, `"${ev}"`)
  }

  /** Send a command and wait for its answer. */
  async ask(cmd: string, data: Record<string, unknown>, ev: string, timeoutMs = 30_000): Promise<Message> {
    // the answer can only come on a later turn of the event loop: send first, then wait
    this.send(cmd, data)
    return this.next(ev, timeoutMs)
  }

  /** Ask the child to exit; kill it by PID if it has not within `graceMs`. */
  async stop(graceMs = 4000): Promise<void> {
    if (this.exited) return
    try {
      this.send('exit')
      this.driver.process.stdin?.end()
    } catch {
      // killed below
    }
    await Promise.race([this.driver.exited, sleep(graceMs)])
    if (!this.exited) await Promise.race([this.driver.terminate(1000), sleep(2000)])
  }

  /** SIGTERM by PID, then SIGKILL if it is still there a second later. */
  kill(): void {
    void this.driver.terminate(1000)
  }
}

/** SIGKILL every child by PID, now. */
export function killAll(): void {
  for (const c of [...children]) c.driver.signal('SIGKILL')
}

/** Kill the children when this process exits, on SIGINT/SIGTERM, and past `RUN_LIMIT_MS`. */
export function guardChildren(): void {
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      progress(`${sig}: killing ${children.size} children`)
      killAll()
      process.exit(130)
    })
  }
  const watchdog = setTimeout(() => {
    progress(`run exceeded ${RUN_LIMIT_MS / 1000} s: killing ${children.size} children`)
    killAll()
    process.exit(1)
  }, RUN_LIMIT_MS)
  watchdog.unref()
}
