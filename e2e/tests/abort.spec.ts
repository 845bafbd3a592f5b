/**
 * (b) A tab closed in the middle of a secure-sum: the others report the abort with its code
 * (a round timeout naming the silent party, or the abort another party sent).
 */
import { expect, test } from '../support/fixtures.ts'

test('a tab closed mid-session makes the others report the abort with a code', async ({ demo }) => {
  const [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map((n) => demo.tab(n)))) as [
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
  ]
  for (const t of [alice, bob, carol]) await t.readyPeers(2)
  const carolId = await carol.partyId()

  // 4 s per round: alice proposes; carol joins (her shares go out), then carol's tab closes
  await alice.startSum(1, 4)
  await carol.joinSum(2)
  await expect(carol.sumCard()).toHaveAttribute('data-state', /running|done/)
  await carol.context.close()
  await bob.joinSum(3, 10_000)

  for (const t of [alice, bob]) {
    const card = t.sumCard()
    await expect(card).toHaveAttribute('data-state', 'aborted', { timeout: 30_000 })
    const code = await card.getAttribute('data-code')
    expect(code).toMatch(/^(ROUND_TIMEOUT|SESSION_ABORTED|PEER_UNREACHABLE|PEER_RESTARTED)$/)
    await expect(card.getByTestId('sum-error')).toContainText(code!)
    // the event log shows the abort with its code too
    await expect(t.page.locator('[data-testid="event"][data-type="abort"]').first()).toHaveAttribute(
      'data-code',
      /^[A-Z_]+$/,
    )
  }
  // whoever timed out names carol as the silent party
  const texts = await Promise.all([alice, bob].map((t) => t.sumCard().textContent()))
  expect(texts.join('\n')).toContain(carolId.slice(0, 8))
})
