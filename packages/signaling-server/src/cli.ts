/**
 * `conclave-signal`: run a signaling server from the command line.
 *
 * Prints exactly one JSON line on stdout once listening, `{"event":"listening","url":"…"}`, so
 * that scripts and tests can wait for it; everything else (logs) goes to stderr as JSON lines.
 * Stops cleanly on SIGTERM / SIGINT. Exit codes: 0 normal, 1 failure, 2 bad arguments.
 * @module
 */
import { isConclaveError } from '@conclave/core'
import { HELP, parseCommandLine } from './config.ts'
import { createLogger } from './log.ts'
import { createSignalingServer } from './server.ts'

/** How long a stop may take before the process exits anyway. */
const STOP_GRACE_MS = 5000

async function main(argv: readonly string[]): Promise<void> {
  let command: ReturnType<typeof parseCommandLine>
  try {
    command = parseCommandLine(argv, process.env)
  } catch (error) {
    if (!isConclaveError(error)) throw error
    process.stderr.write(`conclave-signal: ${error.message}\n\n${HELP}\n`)
    process.exitCode = 2
    return
  }
  if (command.help) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  const log = createLogger({ level: command.config.logLevel })
  // With --redis-url / REDIS_URL this instance joins the cluster on that Redis (see docs/deploy.md).
  const server = createSignalingServer({ ...command.config, logger: log })
  const { url } = await server.start()
  const shutdown = (signal: NodeJS.Signals): void => {
    log.info('shutdown', { signal })
    setTimeout(() => {
      log.error('shutdown_timeout', { afterMs: STOP_GRACE_MS })
      process.exit(1)
    }, STOP_GRACE_MS).unref()
    server.stop().then(
      () => {
        process.exitCode = 0
      },
      (error: unknown) => {
        log.error('shutdown_failed', { error })
        process.exitCode = 1
      },
    )
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
  // Only now: a parent that signals as soon as it reads this line must find the handlers in place.
  process.stdout.write(`${JSON.stringify({ event: 'listening', url })}\n`)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'fatal', error: String(error) })}\n`,
  )
  process.exit(1)
})
