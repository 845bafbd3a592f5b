import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../bin/conclave-signal.js', import.meta.url))

/** The children this file started; afterEach kills any still running, by PID. */
const children = new Set<ChildProcess>()

afterEach(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL')
  }
  children.clear()
})

interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, stdout: () => out, stderr: () => err, exited }
}

async function firstLine(r: Run, ms = 20_000): Promise<string> {
  const end = Date.now() + ms
  while (!r.stdout().includes('\n')) {
    if (Date.now() > end || r.child.exitCode !== null)
      throw new Error(`no stdout line; stderr: ${r.stderr()}`)
    await new Promise((res) => setTimeout(res, 25))
  }
  return r.stdout().split('\n')[0] as string
}

describe('conclave-signal CLI', () => {
  it('prints one JSON line when listening, serves, and exits 0 on SIGTERM', async () => {
    const r = run(['--host', '127.0.0.1', '--port', '0', '--log-level', 'info'])
    const line = JSON.parse(await firstLine(r)) as { event: string; url: string }
    expect(Object.keys(line).sort()).toEqual(['event', 'url'])
    expect(line.event).toBe('listening')
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${line.url}/healthz`)
    expect(((await health.json()) as { status: string }).status).toBe('ok')
    process.kill(r.child.pid as number, 'SIGTERM')
    expect(await r.exited).toEqual({ code: 0, signal: null })
    expect(r.stdout().trim().split('\n')).toHaveLength(1)
    // Logs are JSON lines on stderr.
    for (const l of r.stderr().trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow()
  })

  it('exits 0 on SIGINT too, and reads its settings from the environment', async () => {
    const r = run([], {
      CONCLAVE_SIGNAL_HOST: '127.0.0.1',
      CONCLAVE_SIGNAL_PORT: '0',
      CONCLAVE_SIGNAL_LOG_LEVEL: 'silent',
    })
    const { url } = JSON.parse(await firstLine(r)) as { url: string }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    process.kill(r.child.pid as number, 'SIGINT')
    expect((await r.exited).code).toBe(0)
    expect(r.stderr()).toBe('')
  })

  it('--help prints the options and exits 0', async () => {
    const r = run(['--help'])
    expect((await r.exited).code).toBe(0)
    expect(r.stdout()).toContain('--max-payload-bytes')
    expect(r.stdout()).toContain('CONCLAVE_SIGNAL_PORT')
  })

  it('exits 2 on a bad flag', async () => {
    const r = run(['--port', 'eighty'])
    expect((await r.exited).code).toBe(2)
    expect(r.stdout()).toBe('')
  })
})
