/**
 * Structured logging: one JSON object per line on stderr (stdout is reserved for the CLI's
 * machine-readable `listening` line).
 * @module
 */

/** Log levels, least to most severe; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/** Fields of one log line besides `time`, `level` and `event`. */
export type LogFields = Record<string, unknown>

/** A structured logger: `event` is a short stable name, `fields` the details. */
export interface Logger {
  /** Detail: sockets connecting and disconnecting, each refused event. */
  debug(event: string, fields?: LogFields): void
  /** The server's life and its parties' (listening, registered, cut, shutdown). */
  info(event: string, fields?: LogFields): void
  /** Something an operator should look at (no origin set, a registration lost, no metrics). */
  warn(event: string, fields?: LogFields): void
  /** A failure (an HTTP or handler error, a shutdown that failed or timed out). */
  error(event: string, fields?: LogFields): void
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevel
  /** Where each line goes (without its newline). @default a write to process.stderr */
  sink?: (line: string) => void
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

/**
 * Create a logger writing lines like `{"time":"…","level":"info","event":"listening","url":"…"}`.
 * @example
 * ```ts
 * const log = createLogger({ level: 'debug' })
 * log.info('registered', { partyId })
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info']
  const sink = options.sink ?? ((line: string) => void process.stderr.write(`${line}\n`))
  const write =
    (level: Exclude<LogLevel, 'silent'>) =>
    (event: string, fields: LogFields = {}): void => {
      if (RANK[level] < min) return
      let line: string
      try {
        line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }, errorReplacer)
      } catch {
        line = JSON.stringify({ time: new Date().toISOString(), level, event, unserializable: true })
      }
      sink(line)
    }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
  if (typeof value === 'bigint') return value.toString()
  return value
}
