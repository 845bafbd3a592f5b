/**
 * Output of the CLI: one JSON object per line with `--json`, readable lines otherwise.
 * @module
 */

import type { CliEvent } from './events.ts'

/** An output sink. */
export interface Output {
  /** Print one event (`--json`: one JSON line with a `time`). */
  emit(event: CliEvent): void
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  return v
}

/** Create the CLI's output. */
export function createOutput(
  json: boolean,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Output {
  return {
    emit({ event, ...fields }) {
      if (json) {
        write(JSON.stringify({ event, ...fields, time: new Date().toISOString() }, (_k, v) => plain(v)))
        return
      }
      const parts = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => {
          const x = plain(v)
          const s = typeof x === 'string' ? x : JSON.stringify(x)
          return `${k}=${typeof x === 'string' && /^[0-9a-f]{64}$/.test(x) ? `${x.slice(0, 12)}…` : s}`
        })
      write(`${event.padEnd(9)} ${parts.join(' ')}`)
    },
  }
}
