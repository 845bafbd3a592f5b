/**
 * Readings of a process from Linux `/proc`: CPU time (every thread) and resident memory. NaN
 * elsewhere.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, 100 if unknown). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time (user + system, every thread) a process has used so far, in ms (Linux /proc), NaN elsewhere. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
  } catch {
    return Number.NaN
  }
}

/** CPU ms used by each process while `fn` runs. */
export async function withCpu<T>(
  pids: number[],
  fn: () => Promise<T>,
): Promise<{ result: T; cpuMs: number[] }> {
  const before = pids.map(cpuMsOf)
  const result = await fn()
  return { result, cpuMs: pids.map((p, i) => cpuMsOf(p) - before[i]!) }
}

/** Resident memory of a process in bytes (Linux /proc), NaN elsewhere. */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status)
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}
