/**
 * The `*.browser.test.ts` files in Firefox (the same files the Chromium suite runs: the session
 * host compliance suite against a Web Worker host, the IndexedDB outbox store on the page and in a
 * restarted Worker host, ed25519.json and envelope.json on the page and in a Worker), through
 * Vitest's browser mode with `vitest.firefox.config.ts` (Debian's Firefox, puppeteer-core).
 */
import { test } from '@playwright/test'
import { runBrowserUnits } from '../support/browser-units.ts'

test('the *.browser.test.ts suites pass in Firefox (page and Web Worker)', async () => {
  test.setTimeout(300_000)
  await runBrowserUnits('firefox', 'e2e/firefox/vitest.firefox.config.ts', 22)
})
