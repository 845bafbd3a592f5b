/**
 * The `*.browser.test.ts` files in one browser: Vitest's browser mode, with a config that names
 * the browser (`vitest.browser.config.ts`: Chromium; `firefox/vitest.firefox.config.ts`: Firefox),
 * run as a child process of the Playwright suite, its JSON report read back.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from '@playwright/test'
import { ROOT, spawnNode } from './processes.ts'

const VITEST = join(ROOT, 'e2e/node_modules/vitest/vitest.mjs')

interface VitestJson {
  numPassedTests: number
  numFailedTests: number
  testResults: { name: string; status: string; assertionResults: { fullName: string; status: string }[] }[]
}

/** Files every browser must run (and pass). */
const FILES = [
  'packages/core/test/session-host.browser.test.ts',
  'packages/core/test/outbox-idb.browser.test.ts',
  'e2e/browser/ed25519-vectors.browser.test.ts',
  'e2e/browser/envelope-vectors.browser.test.ts',
]

/**
 * Run Vitest with `config` (relative to the repository root) and check that every file passed,
 * at least `minPassed` tests in all, within `timeoutMs`. The child is stopped whatever happens.
 */
export async function runBrowserUnits(
  browser: string,
  config: string,
  minPassed: number,
  timeoutMs = 240_000,
): Promise<void> {
  const out = join(ROOT, `.tmp/vitest-browser-${browser}.json`)
  const child = spawnNode(`vitest (${browser})`, VITEST, [
    'run',
    '-c',
    config,
    '--reporter=json',
    `--outputFile=${out}`,
  ])
  try {
    const code = await Promise.race([
      child.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs)),
    ])
    const report = JSON.parse(await readFile(out, 'utf8')) as VitestJson
    const failed = report.testResults.flatMap((f) =>
      f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${f.name}: ${a.fullName}`),
    )
    expect(failed, child.stderr.join('').slice(-3000)).toEqual([])
    expect(code).toBe(0)
    const files = report.testResults.map((f) => f.name.slice(ROOT.length))
    for (const f of FILES) expect(files).toContain(f)
    expect(report.numPassedTests).toBeGreaterThanOrEqual(minPassed)
    console.log(`vitest browser mode (${browser}): ${report.numPassedTests} passed in ${files.length} files`)
  } finally {
    if (child.process.exitCode === null) {
      // SIGTERM first: vitest then closes its browser; SIGKILL if it does not end
      const ended = child.kill('SIGTERM')
      await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))])
      await child.kill()
    }
  }
}
