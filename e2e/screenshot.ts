/**
 * Takes `docs/screenshot.png`: the demo page of one of three tabs, with two Node parties in the
 * room, a few chat messages and a finished secure-sum. Also writes a phone-sized capture to
 * `.tmp/screenshot-phone.png` for checking the narrow layout.
 *
 * Run: `node --import tsx e2e/screenshot.ts` (from the repository root).
 */
import { join } from 'node:path'
import { chromium, expect } from '@playwright/test'
import globalSetup from './global-setup.ts'
import { chromiumLaunch } from './support/chromium.ts'
import { Demo } from './support/fixtures.ts'
import { ROOT } from './support/processes.ts'

const teardown = await globalSetup({} as never)
const browser = await chromium.launch(chromiumLaunch)
const demo = new Demo(browser, 'demo')
try {
  await Promise.all([
    demo.nodeParty('node-1', { input: 100, roundTimeoutMs: 60_000, serve: true }),
    demo.nodeParty('node-2', { input: 200, roundTimeoutMs: 60_000, serve: true }),
  ])
  const alice = await demo.tab('amber-otter', { width: 1440, height: 900 })
  const bob = await demo.tab('calm-heron')
  const carol = await demo.tab('keen-lynx', { width: 390, height: 844 })
  for (const t of [alice, bob, carol]) await t.readyPeers(4)
  for (const t of [alice, bob, carol]) await t.chatPartners(2)
  await bob.chat('Hi all, bob here. Ready when you are.')
  await carol.chat('Hello from my phone.')
  await alice.chat('Starting a secure sum in a moment.')
  await expect(alice.page.getByTestId('received-count')).toHaveAttribute('data-count', '2')
  await alice.startSum(42)
  await bob.joinSum(58)
  await carol.joinSum(600)
  for (const t of [alice, bob, carol]) expect(await t.sumTotal()).toBe('1000')
  await alice.page.getByTestId('latency-probe').click()
  // the first keepalive pong gives the RTTs
  await expect(alice.page.getByTestId('peer').first()).toContainText(/rtt \d/, { timeout: 15_000 })
  await alice.page.waitForTimeout(1200)
  await alice.page.screenshot({ path: join(ROOT, 'docs/screenshot.png') })
  await carol.page.screenshot({ path: join(ROOT, '.tmp/screenshot-phone.png'), fullPage: true })
  console.log('wrote docs/screenshot.png and .tmp/screenshot-phone.png')
} finally {
  await demo.close()
  await browser.close()
  await teardown()
}
