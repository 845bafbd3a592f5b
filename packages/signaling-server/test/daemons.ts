/**
 * Test daemons: a real `redis-server` (and the helpers the TURN test shares) on 127.0.0.1, on a
 * free port, started and stopped by the test itself (killed by PID, never by name).
 *
 * A missing binary skips the tests that need it, with a message, unless `CI` is set: under CI
 * the tests run and fail (`.ci/run` installs redis-server and coturn through scripts/lib.sh).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** The path of `name` on PATH (also the sbin directories, where Debian puts daemons), if any. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir) continue
    const file = join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * Whether tests needing `binary` are skipped: only when it is missing and `CI` is not set.
 * Prints why when it skips.
 */
export function skipWithout(binary: string, debianPackage: string): boolean {
  if (findBinary(binary) !== undefined || process.env.CI) return false
  console.warn(
    `[skip] ${binary} is not installed: tests that need it are skipped (apt-get install ${debianPackage}; ` +
      'under CI they run, and ./scripts/test.sh installs it)',
  )
  return true
}

/** A free TCP port on 127.0.0.1 (free when asked; the daemon start retries on a clash). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** A daemon started by a test. */
export interface Daemon {
  readonly child: ChildProcess
  readonly port: number
  /** Everything it printed (stdout and stderr). */
  output(): string
  /** SIGTERM by PID (SIGKILL after 5 s); resolves when it has exited. Idempotent. */
  stop(): Promise<void>
}

/** Spawn `binary args…`, collecting its output; `ready()` polls until it serves. */
export async function startDaemon(
  binary: string,
  args: (port: number) => string[],
  ready: (port: number) => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  fixedPort?: number,
): Promise<Daemon> {
  const path = findBinary(binary)
  if (!path) throw new Error(`${binary} is not installed (CI installs it through scripts/lib.sh apt_install)`)
  let lastError = ''
  for (let attempt = 0; attempt < (fixedPort === undefined ? 3 : 1); attempt++) {
    const port = fixedPort ?? (await freePort())
    const child = spawn(path, args(port), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const daemon: Daemon = {
      child,
      port,
      output: () => out,
      async stop() {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          process.kill(child.pid, 'SIGTERM')
          const timer = setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
              process.kill(child.pid, 'SIGKILL')
          }, 5000)
          await exited
          clearTimeout(timer)
        }
      },
    }
    const end = Date.now() + timeoutMs
    while (child.exitCode === null && Date.now() < end) {
      if (await ready(port)) return daemon
      await new Promise((r) => setTimeout(r, 50))
    }
    lastError = out.slice(-2000)
    await daemon.stop()
  }
  throw new Error(`${what} did not start: ${lastError}`)
}

/** Whether a Redis server answers PING on 127.0.0.1:port. */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d: Buffer) => {
      reply += d.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

/** A started `redis-server`: loopback only, no persistence. */
export interface RedisDaemon extends Daemon {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
}

/** Start a throw-away `redis-server` on 127.0.0.1 and a free port (or `port`, to restart one). */
export async function startRedis(port?: number): Promise<RedisDaemon> {
  const daemon = await startDaemon(
    'redis-server',
    (port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'yes',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tmpdir(),
      '--loglevel',
      'warning',
    ],
    redisPing,
    'redis-server',
    10_000,
    port,
  )
  return Object.assign(daemon, { url: `redis://127.0.0.1:${daemon.port}` })
}

/** A `conclave-signal` child process (so that a test can kill it outright). */
export interface SignalInstance {
  readonly child: ChildProcess
  /** The URL it printed in its `listening` line. */
  readonly url: string
  /** Everything it logged on stderr. */
  stderr(): string
  /** SIGKILL by PID: a crash, nothing cleaned up. */
  kill(): Promise<void>
  /** SIGTERM by PID, then wait for the exit. */
  stop(): Promise<void>
}

const SIGNAL_BIN = new URL('../bin/conclave-signal.js', import.meta.url).pathname

/** Start `conclave-signal` on 127.0.0.1, a free port, with these extra environment variables. */
export async function startSignalInstance(env: Record<string, string>): Promise<SignalInstance> {
  const child = spawn(process.execPath, [SIGNAL_BIN, '--host', '127.0.0.1', '--port', '0'], {
    env: { ...process.env, CONCLAVE_SIGNAL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, sig)
      await exited
    }
  }
  const end = Date.now() + 20_000
  while (!out.includes('\n')) {
    if (child.exitCode !== null || Date.now() > end) {
      await signal('SIGKILL')
      throw new Error(`conclave-signal did not start: ${err.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  const { url } = JSON.parse(out.split('\n')[0] as string) as { url: string }
  return { child, url, stderr: () => err, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') }
}
