/**
 * Vitest in Firefox: the same `*.browser.test.ts` files as `../vitest.browser.config.ts` runs in
 * Chromium (the session host compliance suite against a Web Worker host, the IndexedDB outbox
 * store, ed25519.json and envelope.json on the page and in a Worker), with that config's settings,
 * in Debian's Firefox opened by `puppeteer-provider.ts`. Run by `browser-units.spec.ts`, or alone:
 * `pnpm -C e2e exec vitest run -c firefox/vitest.firefox.config.ts`.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import chromiumSuite from '../vitest.browser.config.ts'

const browser = chromiumSuite.test?.browser
if (!browser) throw new Error('vitest.browser.config.ts has no browser settings')

export default defineConfig({
  ...chromiumSuite,
  test: {
    ...chromiumSuite.test,
    browser: {
      ...browser,
      provider: fileURLToPath(new URL('./puppeteer-provider.ts', import.meta.url)),
      instances: [{ browser: 'firefox' }],
    },
  },
})
