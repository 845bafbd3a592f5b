/**
 * Roster mode: tabs given a roster (`?roster=URL`) say so, link only to the listed parties, and
 * show the handshake refusal of an unlisted party with its reason code.
 */
import { expect, test } from '../support/fixtures.ts'

test('with a roster, an unlisted party is refused at the handshake and the code is shown', async ({
  demo,
}) => {
  const [alice, bob, mallory] = (await Promise.all(['alice', 'bob', 'mallory'].map((n) => demo.tab(n)))) as [
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
  ]
  await expect(alice.page.getByTestId('trust-mode')).toHaveAttribute('data-mode', 'open')
  const [a, b] = await Promise.all([alice.partyId(), bob.partyId()])
  const roster = JSON.stringify({
    version: 1,
    parties: [
      { id: a, label: 'alice' },
      { id: b, label: 'bob' },
    ],
  })
  const url = `${demo.url()}&roster=${encodeURIComponent(`data:application/json,${encodeURIComponent(roster)}`)}`
  for (const t of [alice, bob]) {
    await t.page.goto(url)
    await t.started()
    await expect(t.page.getByTestId('trust-mode')).toHaveAttribute('data-mode', 'roster')
    await expect(t.page.getByTestId('trust-mode')).toHaveText('roster of 2')
  }
  await alice.readyPeers(1)
  await expect(alice.peer(b)).toHaveAttribute('data-state', 'ready')
  const refusal = alice.page.locator(
    '[data-testid="event"][data-type="handshake"][data-code="HANDSHAKE_NOT_IN_ROSTER"]',
  )
  await expect(refusal.first()).toBeVisible()
  await expect(refusal.first()).toContainText((await mallory.partyId()).slice(0, 8))
  await expect(alice.peer(await mallory.partyId())).not.toHaveAttribute('data-state', 'ready')
})
