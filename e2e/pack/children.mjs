/**
 * Child processes of the pack-and-install test: each is spawned in a process group of its own
 * (detached), read line by line by node-party's one JSON-lines driver, and killed by its PID
 * and its group's id (the group leader is the process this test started; Chromium's renderers,
 * npm's scripts and pnpm's node children are in that group), on cleanup and on exit.
 * @module
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

/** What a package manager's script runner passes on and a user's npm should still see. */
const KEEP_NPM = new Set(['npm_config_registry', 'npm_config_cache'])

/**
 * This process's environment without NODE_OPTIONS (a caller's `--conditions=@conclave/source`
 * would run the workspace's sources) and, when a package script started this one (`pnpm
 * test:pack`), without the `npm_*` / `pnpm_*` variables it set from the workspace's config (but
 * the registry and the cache): the children see what a user's shell would give them.
 */
export function cleanEnv(extra = {}) {
  const fromScript = process.env.npm_lifecycle_event !== undefined
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'NODE_OPTIONS') continue
    if (fromScript && /^(npm|pnpm)_/i.test(k) && !KEEP_NPM.has(k.toLowerCase())) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/** Resolve after `ms`. */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

/** A free TCP port on 127.0.0.1 (for a server that cannot listen on port 0 and report it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Wait until `cond()` is truthy (polled every 100 ms); its value, or an error after `ms`. */
export async function until(cond, ms, what) {
  const end = Date.now() + ms
  for (;;) {
    const v = await cond()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * The children of one run, built on `JsonLinesChild` and `ChildGroup` of
 * `@conclave/node-party/testing` (the workspace's build: it is test tooling, not the thing under
 * test), passed in as `driver` because that build exists only after the run's first step.
 */
export class Children {
  constructor(driver) {
    this.driver = driver
    this.group = new driver.ChildGroup()
    /** The children whose process group may still be alive. */
    this.live = new Set()
    this.onExit = () => this.killNow()
    process.once('exit', this.onExit)
  }

  /**
   * Start `cmd args…` (stdout read as JSON lines, other lines as `{ event: 'text', text }`).
   * @param options.cwd working directory
   * @param options.env variables added to {@link cleanEnv}
   * @param options.onStderrLine called with each stderr line
   */
  start(name, cmd, args, options = {}) {
    const proc = spawn(cmd, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    const child = new this.driver.JsonLinesChild(name, proc, {
      group: this.group,
      context: { lines: 20, stderrChars: 3000 },
      ...(options.onStderrLine ? { onStderrLine: options.onStderrLine } : {}),
    })
    this.live.add(child)
    // once the leader has ended, whatever it left in its group goes too, and the group is
    // forgotten (its id could be reused by a process this test did not start)
    void child.exited.then(() => {
      this.killGroup(child, 'SIGKILL')
      this.live.delete(child)
    })
    return child
  }

  /** Start `node script args…` with this Node. */
  node(name, script, args, options = {}) {
    return this.start(name, process.execPath, [script, ...args], options)
  }

  /**
   * Run `cmd args…` to its end within `ms`: its output lines, or an error with the last lines
   * and stderr when it exits non-zero or overruns (then it is killed, group and all).
   */
  async run(name, cmd, args, options = {}, ms = 600_000) {
    const child = this.start(name, cmd, args, options)
    const code = await Promise.race([child.exited, sleep(ms).then(() => 'timeout')])
    if (code === 'timeout') {
      this.killGroup(child, 'SIGKILL')
      await child.exited
      throw child.failure('end', `within ${ms} ms`)
    }
    if (code !== 0) throw child.failure('success', `(exit code ${code})`)
    return child.lines.map((l) => (l.event === 'text' ? l.text : JSON.stringify(l)))
  }

  /** Signal `child`'s process group (its id is the child's PID: `detached`), then the child. */
  killGroup(child, signal) {
    if (child.pid <= 0) return
    try {
      process.kill(-child.pid, signal)
    } catch {
      // the group is gone
    }
    child.signal(signal)
  }

  /** SIGTERM every child and its group; SIGKILL what is left after `graceMs`. Resolves when all ended. */
  async stopAll(graceMs = 3000) {
    const live = [...this.live]
    for (const c of live) this.killGroup(c, 'SIGTERM')
    const timer = setTimeout(() => this.killNow(), graceMs)
    await Promise.all(live.map((c) => c.exited))
    clearTimeout(timer)
    process.removeListener('exit', this.onExit)
  }

  /** SIGKILL every child and its group, now (also on this process's exit). */
  killNow() {
    for (const c of this.live) this.killGroup(c, 'SIGKILL')
  }
}
