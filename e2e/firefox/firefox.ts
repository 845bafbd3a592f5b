/**
 * Firefox for the e2e suite: Debian's `firefox-esr` (Playwright cannot drive it: its Firefox is a
 * patched build), launched headless by puppeteer-core over WebDriver BiDi, and a tab of the demo
 * page driven, like the Chromium tabs, only through the DOM (`data-testid`s).
 *
 * Run with `CONCLAVE_FIREFOX=/path/to/firefox` for another build (default /usr/bin/firefox-esr).
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

/** The Firefox binary the suite launches. */
export const firefoxPath = (): string => process.env.CONCLAVE_FIREFOX ?? '/usr/bin/firefox-esr'

/**
 * Preferences of every Firefox of the suite. No STUN/TURN server exists anywhere, so the tabs reach
 * each other only through host candidates: `obfuscate_host_addresses` off makes them carry the
 * interface address rather than an mDNS name (as Chromium's `WebRtcHideLocalIpsWithMdns` off does),
 * and `ice.loopback` lets Firefox offer 127.0.0.1 too (a machine whose only interface is loopback).
 * puppeteer-core's own test profile already keeps the browser from phoning home (updates,
 * telemetry, safe browsing, remote settings off).
 */
export const firefoxPrefs: Record<string, unknown> = {
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
}

/** A headless Firefox and its process id (it is killed by that PID when closed). */
export interface Firefox {
  browser: Browser
  pid: number | undefined
  close(): Promise<void>
}

/** Launch Debian's Firefox headless over WebDriver BiDi. */
export async function launchFirefox(timeoutMs = 60_000): Promise<Firefox> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath(),
    headless: true,
    extraPrefsFirefox: firefoxPrefs,
    timeout: timeoutMs,
    protocolTimeout: timeoutMs,
  })
  const pid = browser.process()?.pid
  return {
    browser,
    pid,
    async close() {
      await Promise.race([browser.close().catch(() => undefined), sleep(10_000)])
      // whatever close() did, the process it started ends here
      if (pid !== undefined && isRunning(pid)) process.kill(pid, 'SIGKILL')
    },
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const byTestId = (id: string): string => `[data-testid="${id}"]`

/**
 * A script run before the page's own: it records the largest message the page hands to a data
 * channel (`window.__largestSend`), to show what frame size a link used. A string, not a function:
 * the test's TypeScript transform would add helpers the page does not have.
 */
export const RECORD_LARGEST_SEND = `(() => {
  const send = RTCDataChannel.prototype.send
  window.__largestSend = 0
  RTCDataChannel.prototype.send = function (data) {
    const n = typeof data === 'string' ? data.length : (data.byteLength ?? data.size ?? 0)
    if (n > window.__largestSend) window.__largestSend = n
    return send.call(this, data)
  }
})()`

/**
 * The demo page in a Firefox tab. Every wait is bounded; a timeout names what was awaited and
 * what the page showed meanwhile.
 */
export class FirefoxTab {
  private constructor(
    readonly name: string,
    readonly page: Page,
  ) {}

  /** Open `url` (the demo page for a room) in a new tab of `firefox` and wait until it joined. */
  static async open(firefox: Firefox, name: string, url: string): Promise<FirefoxTab> {
    const page = await firefox.browser.newPage()
    page.on('pageerror', (e) => console.error(`[${name}] page error: ${String(e)}`))
    await page.evaluateOnNewDocument(RECORD_LARGEST_SEND)
    await page.goto(url, { timeout: 30_000 })
    const tab = new FirefoxTab(name, page)
    await tab.waitFor(`${byTestId('self')}[data-started="true"]`, 30_000, 'the page to join its room')
    return tab
  }

  /** Wait for `selector` to match; on timeout, an error naming `what` and the page's log. */
  async waitFor(selector: string, timeout: number, what: string): Promise<void> {
    try {
      await this.page.waitForSelector(selector, { timeout })
    } catch (e) {
      const log = await this.page
        .$$eval(byTestId('event'), (els) => els.map((el) => el.textContent ?? '').slice(-15))
        .catch(() => [])
      throw new Error(
        `[${this.name}] waited ${timeout} ms for ${what} (${selector}); events:\n${log.join('\n')}`,
        {
          cause: e,
        },
      )
    }
  }

  /** This tab's PartyId. */
  async partyId(): Promise<string> {
    await this.waitFor(`${byTestId('self')}[data-party-id]`, 30_000, 'its PartyId')
    const id = await this.page.$eval(byTestId('self'), (el) => el.getAttribute('data-party-id') ?? '')
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`[${this.name}] PartyId ${JSON.stringify(id)}`)
    return id
  }

  /** Wait until exactly `n` peers are ready. */
  async readyPeers(n: number, timeout = 45_000): Promise<void> {
    await this.waitFor(`${byTestId('ready-count')}[data-ready="${n}"]`, timeout, `${n} ready peers`)
  }

  /** Wait until the peer row of `id` shows `state` (e.g. `ready`). */
  async peerState(id: string, state: string, timeout = 45_000): Promise<void> {
    await this.waitFor(
      `${byTestId('peer')}[data-party-id="${id}"][data-state="${state}"]`,
      timeout,
      `${id} ${state}`,
    )
  }

  /** An attribute of the peer row of `id` (e.g. `data-state`, `data-transport`). */
  async peerAttribute(id: string, name: string): Promise<string | null> {
    return this.page.$eval(`${byTestId('peer')}[data-party-id="${id}"]`, (el, a) => el.getAttribute(a), name)
  }

  /** Type `value` into the input matching `selector` (its old value replaced). */
  async fill(selector: string, value: string): Promise<void> {
    await this.page.locator(selector).setTimeout(30_000).fill(value)
  }

  /** Click the element matching `selector` once it is visible and enabled. */
  async click(selector: string): Promise<void> {
    await this.page.locator(selector).setTimeout(30_000).click()
  }

  /** The text of the first element matching `selector`. */
  async text(selector: string): Promise<string> {
    return this.page.$eval(selector, (el) => el.textContent ?? '')
  }

  /** Wait until `n` parties have a chat session with this tab. */
  async chatPartners(n: number, timeout = 30_000): Promise<void> {
    await this.waitFor(`${byTestId('chat-peers')}[data-count="${n}"]`, timeout, `${n} chat partners`)
  }

  /** Send a chat message to everyone, `repeat` times. */
  async chat(text: string, repeat = 1): Promise<void> {
    await this.page.select(byTestId('chat-to'), 'everyone')
    await this.fill(byTestId('chat-repeat'), String(repeat))
    await this.fill(byTestId('chat-text'), text)
    await this.click(byTestId('chat-send'))
  }

  /** Wait until the page has received (and verified) exactly `n` chat messages. */
  async received(n: number, timeout = 60_000): Promise<void> {
    await this.waitFor(`${byTestId('received-count')}[data-count="${n}"]`, timeout, `${n} messages received`)
  }

  /** The largest message this page has sent on a data channel, in bytes. */
  async largestSend(): Promise<number> {
    return this.page.evaluate(() => (window as unknown as { __largestSend: number }).__largestSend)
  }

  /** Propose a secure-sum to every ready peer with this tab's `input`. */
  async startSum(input: bigint | number): Promise<void> {
    await this.fill(byTestId('sum-input'), String(input))
    await this.click(byTestId('sum-start'))
  }

  /** Wait for the newest secure-sum to finish; its total. */
  async sumTotal(timeout = 60_000): Promise<string> {
    const done = `${byTestId('sum-session')}[data-state="done"]`
    await this.waitFor(done, timeout, 'the secure-sum to finish')
    return this.text(`${done} ${byTestId('sum-total')}`)
  }

  /** The selector of this tab's FROST session card of `kind` (in `state`, if given). */
  frostSession(kind: 'dkg' | 'sign', state?: string): string {
    return `${byTestId('frost-session')}[data-kind="${kind}"]${state ? `[data-state="${state}"]` : ''}`
  }

  /** Check exactly the signers in `ids` among the boxes the signing form offers. */
  async chooseSigners(ids: readonly string[]): Promise<void> {
    for (const id of ids)
      await this.waitFor(`${byTestId('frost-signer')}[data-party-id="${id}"]`, 30_000, `signer ${id}`)
    const offered = await this.page.$$eval(byTestId('frost-signer'), (els) =>
      els.map((el) => [el.getAttribute('data-party-id') ?? '', (el as HTMLInputElement).checked] as const),
    )
    for (const [id, checked] of offered) {
      if (checked !== ids.includes(id)) await this.click(`${byTestId('frost-signer')}[data-party-id="${id}"]`)
    }
  }
}
