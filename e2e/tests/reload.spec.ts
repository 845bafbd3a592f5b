/**
 * (c) A reloaded tab keeps its identity (the non-extractable key stays in IndexedDB) and rejoins:
 * its peers see it ready again, and chat flows again. A second tab of the same browser is a
 * different party.
 */
import { expect, test } from '../support/fixtures.ts'

test('a reloaded tab keeps its PartyId and rejoins', async ({ demo }) => {
  const [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map((n) => demo.tab(n)))) as [
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
  ]
  for (const t of [alice, bob, carol]) await t.readyPeers(2)
  const before = await bob.partyId()
  await expect(bob.page.getByTestId('key-storage')).toContainText('non-extractable')

  await bob.page.reload()
  await bob.started()
  expect(await bob.partyId()).toBe(before)
  await expect(bob.page.getByTestId('key-storage')).not.toContainText('New key')

  await bob.readyPeers(2)
  for (const t of [alice, carol]) {
    await expect(t.peer(before)).toHaveAttribute('data-state', 'ready', { timeout: 45_000 })
    await t.readyPeers(2)
  }
  // the pair chat sessions come back with the new stream epoch
  await bob.chatPartners(2)
  await alice.chatPartners(2)
  await alice.chat('welcome back')
  await expect(bob.page.getByTestId('message').filter({ hasText: 'welcome back' })).toBeVisible()
})

test('a second tab of the same browser is another party', async ({ demo }) => {
  const alice = await demo.tab('alice')
  const second = await alice.context.newPage()
  await second.goto(demo.url('alice-2'))
  const self = second.getByTestId('self')
  await expect(self).toHaveAttribute('data-started', 'true')
  const other = await self.getAttribute('data-party-id')
  expect(other).toMatch(/^[0-9a-f]{64}$/)
  expect(other).not.toBe(await alice.partyId())
  await alice.readyPeers(1)
})
