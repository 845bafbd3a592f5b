/// <reference types="@vitest/browser/providers/playwright" />
/**
 * Vitest in Chromium (browser mode, Playwright provider, Debian's Chromium): every
 * `*.browser.test.ts` of the packages (e.g. the session host compliance suite against a Web
 * Worker host) and of `e2e/browser/`. Run by `e2e/tests/browser-units.spec.ts`, or alone:
 * `pnpm -C e2e exec vitest run -c vitest.browser.config.ts`.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { sourceConditions } from '../vite.config.ts'
import { chromiumLaunch } from './support/chromium.ts'

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  // `@conclave/*` from their TypeScript sources, as in the root config
  ...sourceConditions,
  test: {
    include: ['packages/*/test/**/*.browser.test.ts', 'e2e/browser/**/*.browser.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    browser: {
      enabled: true,
      provider: 'playwright',
      headless: true,
      screenshotFailures: false,
      instances: [{ browser: 'chromium', launch: chromiumLaunch }],
    },
  },
})
