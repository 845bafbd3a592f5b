/**
 * A browser tab running the demo page, driven only through the DOM (`data-testid`s and text).
 */
import { type BrowserContext, expect, type Locator, type Page } from '@playwright/test'

/** One party: a page in its own browser context (its own IndexedDB, its own identity). */
export class Tab {
  constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** This tab's PartyId (64 hex digits), once the page has claimed its identity. */
  async partyId(): Promise<string> {
    const self = this.page.getByTestId('self')
    await expect(self).toHaveAttribute('data-party-id', /^[0-9a-f]{64}$/)
    return (await self.getAttribute('data-party-id'))!
  }

  /** Wait until the page has registered and joined its room. */
  async started(timeout = 30_000): Promise<void> {
    await expect(this.page.getByTestId('self')).toHaveAttribute('data-started', 'true', { timeout })
  }

  /** Wait until exactly `n` peers are ready. */
  async readyPeers(n: number, timeout = 45_000): Promise<void> {
    await expect(this.page.getByTestId('ready-count')).toHaveAttribute('data-ready', String(n), { timeout })
  }

  /** The row of one peer. */
  peer(id: string): Locator {
    return this.page.locator(`[data-testid="peer"][data-party-id="${id}"]`)
  }

  /** Wait until `n` parties have a chat session with this tab. */
  async chatPartners(n: number, timeout = 30_000): Promise<void> {
    await expect(this.page.getByTestId('chat-peers')).toHaveAttribute('data-count', String(n), { timeout })
  }

  /** Send a chat message (to everyone unless `to` is a PartyId), `repeat` times. */
  async chat(text: string, options: { to?: string; repeat?: number } = {}): Promise<void> {
    const { page } = this
    await page.getByTestId('chat-to').selectOption(options.to ?? 'everyone')
    await page.getByTestId('chat-repeat').fill(String(options.repeat ?? 1))
    await page.getByTestId('chat-text').fill(text)
    await page.getByTestId('chat-send').click()
  }

  /** Messages received so far (the counter of verified messages). */
  async received(): Promise<number> {
    return Number(await this.page.getByTestId('received-count').getAttribute('data-count'))
  }

  /** Propose a secure-sum to every ready peer with this tab's `input`. */
  async startSum(input: bigint | number, roundTimeoutS?: number): Promise<void> {
    const { page } = this
    await page.getByTestId('sum-input').fill(String(input))
    if (roundTimeoutS !== undefined) await page.getByTestId('sum-timeout').fill(String(roundTimeoutS))
    await expect(page.getByTestId('sum-start')).toBeEnabled()
    await page.getByTestId('sum-start').click()
  }

  /** The card of the newest proposal waiting for an answer. */
  proposal(): Locator {
    return this.page.locator('[data-testid="sum-session"][data-state="proposal"]').first()
  }

  /** Answer the pending proposal with `input`. */
  async joinSum(input: bigint | number, timeout = 30_000): Promise<void> {
    const card = this.proposal()
    await expect(card).toBeVisible({ timeout })
    await card.getByTestId('sum-join-input').fill(String(input))
    await card.getByTestId('sum-join').click()
  }

  /** The newest secure-sum card. */
  sumCard(): Locator {
    return this.page.getByTestId('sum-session').first()
  }

  /** Wait for the newest secure-sum to finish; its total. */
  async sumTotal(timeout = 60_000): Promise<string> {
    const card = this.sumCard()
    await expect(card).toHaveAttribute('data-state', 'done', { timeout })
    return (await card.getByTestId('sum-total').textContent()) ?? ''
  }
}
