/**
 * Starts what every e2e test shares, on random free ports, and hands the addresses to the tests
 * through environment variables (set here, before the test workers start):
 * - `CONCLAVE_SIGNAL_URL`: a `conclave-signal` child process (`--port 0`, its URL read from its
 *   one JSON line);
 * - `CONCLAVE_WEB_URL`: the web demo, built with Vite and served by `vite preview` in this
 *   process (port 0), at `http://localhost:PORT` (WebCrypto needs a secure context).
 * The returned teardown stops both; the signaling server is killed by its PID.
 */
import { join } from 'node:path'
import type { FullConfig } from '@playwright/test'
import { build, preview } from 'vite'
import { killAll, ROOT, spawnNode } from './support/processes.ts'

export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const signal = spawnNode(
    'conclave-signal',
    join(ROOT, 'packages/signaling-server/bin/conclave-signal.js'),
    ['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'],
  )
  const configFile = join(ROOT, 'vite.config.ts')
  // the config's `root` is relative to the working directory: pin it, whatever that is
  const root = join(ROOT, 'packages/web-demo')
  const outDir = join(ROOT, '.tmp/e2e-web')
  try {
    const [listening] = await Promise.all([
      signal.waitFor((l) => l.event === 'listening', 30_000, 'listening line'),
      build({ configFile, root, logLevel: 'warn', build: { outDir, emptyOutDir: true } }),
    ])
    const server = await preview({
      configFile,
      root,
      logLevel: 'warn',
      build: { outDir },
      preview: { host: 'localhost', port: 0, strictPort: true },
    })
    const address = server.httpServer.address()
    if (!address || typeof address === 'string') throw new Error('vite preview has no TCP address')
    process.env.CONCLAVE_SIGNAL_URL = String(listening.url)
    process.env.CONCLAVE_WEB_URL = `http://localhost:${address.port}`
    return async () => {
      await server.close()
      await killAll()
    }
  } catch (e) {
    await killAll()
    throw e
  }
}
