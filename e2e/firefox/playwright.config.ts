/**
 * `pnpm run e2e:firefox`: Firefox beside Chromium and Node. The specs of this folder, with the
 * Chromium suite's settings and global setup (the signaling server and the demo page on random
 * free ports): Chromium through Playwright as there, Debian's Firefox through puppeteer-core over
 * WebDriver BiDi (`firefox.ts`; Playwright drives only its own patched Firefox build).
 *
 * Run: `pnpm run e2e:firefox` (`CONCLAVE_FIREFOX`, default /usr/bin/firefox-esr;
 * `CONCLAVE_CHROMIUM`, default /usr/bin/chromium).
 */
import { defineConfig } from '@playwright/test'
import chromiumSuite from '../playwright.config.ts'

export default defineConfig({
  ...chromiumSuite,
  testDir: '.',
  // paths here are relative to this file, not to the Chromium suite's
  globalSetup: '../global-setup.ts',
  outputDir: '../../.tmp/e2e-firefox-results',
})
