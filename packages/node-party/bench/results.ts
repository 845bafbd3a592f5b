/**
 * What a run records as it goes: progress lines, every repetition's value of every figure, the
 * details, probes and phase costs beside them, failures and notes. The sections write here; the
 * report reads it.
 * @module
 */
import os from 'node:os'
import { fmt } from './stats.ts'

/** When the run started. */
export const t0Run = Date.now()
/** Load averages (1, 5, 15 min) when the run started: other work on the machine skews every figure. */
export const loadAtStart = os.loadavg()
/** Seconds since the start, for progress lines. */
export const elapsed = (): string => `${((Date.now() - t0Run) / 1000).toFixed(1)}s`
/** Print a progress line with the time since the start. */
export function progress(message: string): void {
  console.log(`[${elapsed().padStart(6)}] ${message}`)
}
/** Milliseconds on the clock every process of the machine shares. */
export const now = (): number => performance.timeOrigin + performance.now()
/** Resolve after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Per-repetition values of every figure. */
export const values = new Map<string, number[]>()
/** Record one repetition's value of figure `name`. */
export function record(name: string, value: number): void {
  let list = values.get(name)
  if (!list) {
    list = []
    values.set(name, list)
  }
  list.push(value)
}
/** CPU µs per message of the sender, the receiver and both. */
export function recordCpu(name: string, cpuMs: number[], n: number): void {
  const [a, b] = cpuMs as [number, number]
  record(`${name}_sender_cpu_us_per_msg`, (a * 1000) / n)
  record(`${name}_receiver_cpu_us_per_msg`, (b * 1000) / n)
  record(`${name}_cpu_us_per_msg`, ((a + b) * 1000) / n)
}
/** The progress line's note of CPU per message, sender and receiver. */
export function cpuNote(cpuMs: number[], n: number): string {
  const [a, b] = cpuMs as [number, number]
  return ` (CPU per message: sender ${fmt((a * 1000) / n)} µs, receiver ${fmt((b * 1000) / n)} µs)`
}
/** What failed, and notes, for the report. */
export const failures: string[] = []
export const notes: string[] = []
/** The probes' results, and details beside the figures (cold times, registration, …). */
export const probes: Record<string, unknown> = {}
export const details: Record<string, unknown> = {}
/** The phase costs of the message path (µs per operation), when measured. */
export const phases: { us?: Record<string, number> } = {}

/** Record and print a failure of `what`. */
export function fail(what: string, e: unknown): void {
  const message = `${what}: ${e instanceof Error ? e.message : String(e)}`
  failures.push(message)
  progress(`  ✗ ${message}`)
}
