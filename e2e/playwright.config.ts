/**
 * Playwright: Conclave tabs (headless Chromium from Debian, one browser context per party) and
 * `conclave-party` Node processes in one session. The global setup starts the signaling server
 * and the demo page on random free ports; no STUN/TURN server is configured anywhere, and
 * Chromium's host candidates carry the interface address (mDNS hiding off), so every link stays
 * on this machine.
 *
 * Run: `pnpm run e2e` (Chromium: `CONCLAVE_CHROMIUM`, default /usr/bin/chromium).
 */
import { defineConfig } from '@playwright/test'
import { chromiumLaunch } from './support/chromium.ts'

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  outputDir: '../.tmp/e2e-results',
  // every test runs several browser contexts and Node parties: one test at a time
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: chromiumLaunch,
  },
})
