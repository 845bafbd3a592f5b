/**
 * The signaling server of a run, a child process, and its HTTP endpoints.
 * @module
 */
import { Child } from './children.ts'

/** The run's signaling server: its child and URL. */
export interface Server {
  child: Child
  url: string
}

/** Start `conclave-signal` on a free port of 127.0.0.1 and wait for its URL. */
export async function startServer(): Promise<Server> {
  const child = new Child('signal-server', 'packages/signaling-server/src/cli.ts', [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'error',
  ])
  const m = await child.next('listening', 30_000)
  return { child, url: String(m.url) }
}

/** GET `url` as JSON (10 s limit). */
export async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  return (await res.json()) as Record<string, unknown>
}

/** The value of the server's metric `conclave_signal_<name>` (NaN if absent). */
export async function metric(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  const m = new RegExp(`^conclave_signal_${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}
