/**
 * The `*.browser.test.ts` files (the session host compliance suite against a Web Worker host,
 * ed25519.json on the page and in a Worker, the IndexedDB outbox store on the page and opened by
 * a Web Worker host that is restarted) in Chromium, through Vitest's browser mode
 * (`vitest.browser.config.ts`), run as a child process of this suite.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { ROOT, spawnNode } from '../support/processes.ts'

const VITEST = join(ROOT, 'e2e/node_modules/vitest/vitest.mjs')

interface VitestJson {
  numPassedTests: number
  numFailedTests: number
  testResults: { name: string; status: string; assertionResults: { fullName: string; status: string }[] }[]
}

test('the *.browser.test.ts suites pass in Chromium (page and Web Worker)', async () => {
  test.setTimeout(300_000)
  const out = join(ROOT, '.tmp/vitest-browser.json')
  const child = spawnNode('vitest (browser)', VITEST, [
    'run',
    '-c',
    'e2e/vitest.browser.config.ts',
    '--reporter=json',
    `--outputFile=${out}`,
  ])
  try {
    const code = await Promise.race([
      child.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 240_000)),
    ])
    const report = JSON.parse(await readFile(out, 'utf8')) as VitestJson
    const failed = report.testResults.flatMap((f) =>
      f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${f.name}: ${a.fullName}`),
    )
    expect(failed, child.stderr.join('').slice(-3000)).toEqual([])
    expect(code).toBe(0)
    const files = report.testResults.map((f) => f.name.slice(ROOT.length))
    expect(files).toContain('packages/core/test/session-host.browser.test.ts')
    expect(files).toContain('e2e/browser/ed25519-vectors.browser.test.ts')
    expect(files).toContain('packages/core/test/outbox-idb.browser.test.ts')
    expect(report.numPassedTests).toBeGreaterThanOrEqual(22)
    console.log(`vitest browser mode: ${report.numPassedTests} passed in ${files.length} files`)
  } finally {
    if (child.process.exitCode === null) {
      // SIGTERM first: vitest then closes its Chromium; SIGKILL if it does not end
      const ended = child.kill('SIGTERM')
      await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))])
      await child.kill()
    }
  }
})
