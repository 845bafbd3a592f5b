/**
 * How the suite launches Chromium: Debian's build (Playwright cannot download one here), headless,
 * with host candidates carrying the interface address (`WebRtcHideLocalIpsWithMdns` off: with
 * mDNS names and no STUN server, tabs could not reach each other) and nothing that phones home.
 */
import type { LaunchOptions } from '@playwright/test'

/** Launch options of every browser of the suite. */
export const chromiumLaunch: LaunchOptions = {
  executablePath: process.env.CONCLAVE_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ],
}
