/**
 * A Vitest browser provider for Debian's Firefox: Vitest serves its test page, this opens it in a
 * headless Firefox launched by puppeteer-core over WebDriver BiDi (`launchFirefox`). Vitest's own
 * providers cannot: its Playwright provider drives only Playwright's patched Firefox, and its
 * WebdriverIO one needs geckodriver, which Debian does not ship.
 *
 * The tests drive nothing through the provider (no `userEvent`, no module mocking, no CDP): it
 * only opens pages. `vitest.firefox.config.ts` names this file as `browser.provider`.
 */
import type { BrowserProvider, BrowserProviderInitializationOptions, TestProject } from 'vitest/node'
import { type Firefox, launchFirefox } from './firefox.ts'

/** Opens Vitest's test pages in one headless Firefox, a tab per session. */
export default class PuppeteerFirefoxProvider implements BrowserProvider {
  readonly name = 'puppeteer-firefox'
  readonly supportsParallelism = false
  private firefox: Promise<Firefox> | undefined
  private closing = false

  getSupportedBrowsers(): readonly string[] {
    return ['firefox']
  }

  initialize(_project: TestProject, { browser }: BrowserProviderInitializationOptions): void {
    if (browser !== 'firefox') throw new Error(`this provider runs Firefox only, got browser "${browser}"`)
    this.closing = false
  }

  getCommandsContext(): Record<string, unknown> {
    return {}
  }

  async openPage(_sessionId: string, url: string, beforeNavigate?: () => Promise<void>): Promise<void> {
    if (this.closing) throw new Error('[puppeteer-firefox] the provider was closed')
    this.firefox ??= launchFirefox()
    const page = await (await this.firefox).browser.newPage()
    page.on('pageerror', (e) => console.error(`[firefox] page error: ${String(e)}`))
    await beforeNavigate?.()
    await page.goto(url, { timeout: 60_000 })
  }

  async close(): Promise<void> {
    this.closing = true
    const firefox = this.firefox
    this.firefox = undefined
    if (firefox) await (await firefox).close()
  }
}
