/**
 * The child side of the benchmark's protocol (the orchestrator's side is `children.ts`):
 * commands `{ "cmd": … }` on stdin, one JSON line `{ "ev": … }` on stdout per report. A
 * command that throws is reported as `error { cmd, message }`.
 * @module
 */
import { createInterface } from 'node:readline'

/** One command of the orchestrator. */
export type Command = { cmd: string } & Record<string, unknown>

/** Milliseconds on the one clock every process of the machine shares (sub-millisecond). */
export const now = (): number => performance.timeOrigin + performance.now()

/** Resolve after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Report `ev` with `data` to the orchestrator. */
export function emit(ev: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, ...data })}\n`)
}

/**
 * The non-negative number `key` of a command, or `fallback`.
 * @throws Error when it is neither
 */
export function num(c: Command, key: string, fallback?: number): number {
  const v = c[key] ?? fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`"${key}" expected a number`)
  return v
}

/**
 * The string `key` of a command.
 * @throws Error when it is not a string
 */
export function str(c: Command, key: string): string {
  const v = c[key]
  if (typeof v !== 'string') throw new Error(`"${key}" expected a string`)
  return v
}

/**
 * Run `handle` for every command line on stdin (lines that are not JSON are ignored), and
 * `onClose` when stdin closes (the orchestrator has gone); then report `loaded` with `fields`.
 */
export function serveCommands(
  handle: (c: Command) => Promise<void>,
  onClose: () => void,
  fields: Record<string, unknown> = {},
): void {
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      let c: Command
      try {
        c = JSON.parse(line) as Command
      } catch {
        return
      }
      handle(c).catch((e: unknown) =>
        emit('error', { cmd: c.cmd, message: e instanceof Error ? e.message : String(e) }),
      )
    })
    .on('close', onClose)
  emit('loaded', { ...fields, pid: process.pid })
}
