/**
 * The `*.browser.test.ts` files (the session host compliance suite against a Web Worker host,
 * ed25519.json and envelope.json on the page and in a Worker, the IndexedDB outbox store on the
 * page and opened by a Web Worker host that is restarted) in Chromium, through Vitest's browser
 * mode (`vitest.browser.config.ts`), run as a child process of this suite.
 */
import { test } from '@playwright/test'
import { runBrowserUnits } from '../support/browser-units.ts'

test('the *.browser.test.ts suites pass in Chromium (page and Web Worker)', async () => {
  test.setTimeout(300_000)
  await runBrowserUnits('chromium', 'e2e/vitest.browser.config.ts', 22)
})
