/**
 * A real coturn (`turnserver`) for tests, on 127.0.0.1 only and relaying on 127.0.0.1, started
 * and stopped by the test (by PID, through `startDaemon`). Shared by the TURN tests.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon } from '../../signaling-server/test/daemons.ts'

/** Whether something accepts TCP connections on 127.0.0.1:port (coturn listens on TCP and UDP). */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Start coturn on 127.0.0.1 with `auth` flags (`--lt-cred-mech --user=u:p`, or
 * `--use-auth-secret --static-auth-secret=S`); `cleanup` receives what stops it and removes its
 * directory.
 */
export async function startTurn(
  auth: string[],
  cleanup: (stop: () => Promise<void> | void) => void,
): Promise<Daemon> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-turn-'))
  cleanup(() => rm(dir, { recursive: true, force: true }))
  // a random relay port range; coturn skips ports it cannot bind
  const minPort = 40_000 + Math.floor(Math.random() * 200) * 100
  const turn = await startDaemon(
    'turnserver',
    (port) => [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      '--realm=conclave',
      ...auth,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      '--fingerprint',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
    ],
    tcpOpen,
    'turnserver',
  )
  cleanup(() => turn.stop())
  return turn
}
