/**
 * (c) A reloaded tab keeps its identity (the non-extractable key stays in IndexedDB) and rejoins:
 * its peers see it ready again, and chat flows again. With its outbox store (IndexedDB, opened by
 * the session host's Worker) it also keeps its stream epoch: its peers never see PEER_RESTARTED,
 * the chat sessions are resumed, and a message sent to it while it was away arrives once it is
 * back. With `?outbox=0` a reload is a restart (PEER_RESTARTED) and the chat is set up anew. A
 * second tab of the same browser is a different party.
 */
import type { Page } from '@playwright/test'
import { expect, test } from '../support/fixtures.ts'

/** The `data-code` of the events a page logged. */
const eventCodes = (page: Page): Promise<(string | null)[]> =>
  page.getByTestId('event').evaluateAll((els) => els.map((e) => e.getAttribute('data-code')))

test('a reloaded tab keeps its PartyId and rejoins', async ({ demo }) => {
  const [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map((n) => demo.tab(n)))) as [
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
    Awaited<ReturnType<typeof demo.tab>>,
  ]
  for (const t of [alice, bob, carol]) await t.readyPeers(2)
  const before = await bob.partyId()
  await expect(bob.page.getByTestId('key-storage')).toContainText('non-extractable')
  await expect(bob.page.getByTestId('self')).toHaveAttribute('data-outbox', 'indexeddb')
  await bob.chatPartners(2)

  await bob.page.reload()
  await bob.started()
  expect(await bob.partyId()).toBe(before)
  await expect(bob.page.getByTestId('key-storage')).not.toContainText('New key')

  await bob.readyPeers(2)
  for (const t of [alice, carol]) {
    await expect(t.peer(before)).toHaveAttribute('data-state', 'ready', { timeout: 45_000 })
    await t.readyPeers(2)
  }
  // the same stream epoch: the pair chat sessions are resumed, nobody saw a restart
  await bob.chatPartners(2)
  await alice.chatPartners(2)
  await alice.chat('welcome back')
  await expect(bob.page.getByTestId('message').filter({ hasText: 'welcome back' })).toBeVisible()
  for (const t of [alice, carol]) expect(await eventCodes(t.page)).not.toContain('PEER_RESTARTED')
})

test('a message sent to a tab while it is away arrives once it is back (outbox store)', async ({ demo }) => {
  const alice = await demo.tab('alice')
  const bob = await demo.tab('bob')
  for (const t of [alice, bob]) {
    await t.readyPeers(1)
    await t.chatPartners(1)
  }
  const bobId = await bob.partyId()
  await alice.chat('before', { to: bobId })
  await expect(bob.page.getByTestId('message').filter({ hasText: 'before' })).toBeVisible()

  // bob's tab leaves the page (its party stops), alice writes to it, bob's tab comes back
  await bob.page.goto('about:blank')
  await expect(alice.peer(bobId).and(alice.page.locator('[data-state="ready"]'))).toHaveCount(0, {
    timeout: 45_000,
  })
  await alice.chat('while you were away', { to: bobId })
  await expect(alice.page.getByTestId('chat-status')).toHaveAttribute('data-state', 'idle')
  await expect(alice.page.getByTestId('chat-status')).not.toContainText('Not sent')
  await bob.page.goto(demo.url('bob'))
  await bob.started()
  expect(await bob.partyId()).toBe(bobId)
  await expect(bob.page.getByTestId('message').filter({ hasText: 'while you were away' })).toBeVisible({
    timeout: 45_000,
  })
  // the message that arrived before is not shown again, and the chat goes on both ways
  await expect(bob.page.getByTestId('message').filter({ hasText: 'before' })).toHaveCount(0)
  await bob.chatPartners(1)
  await bob.chat('back again')
  await expect(alice.page.getByTestId('message').filter({ hasText: 'back again' })).toBeVisible()
  expect(await eventCodes(alice.page)).not.toContain('PEER_RESTARTED')
})

test('with ?outbox=0 a reload is a restart: peers see PEER_RESTARTED, the chat is set up anew', async ({
  demo,
}) => {
  const alice = await demo.tab('alice')
  const bob = await demo.tab('bob', undefined, { outbox: '0' })
  await expect(bob.page.getByTestId('self')).toHaveAttribute('data-outbox', 'off')
  for (const t of [alice, bob]) {
    await t.readyPeers(1)
    await t.chatPartners(1)
  }
  await bob.page.reload()
  await bob.started()
  await expect(alice.page.locator('[data-testid="event"][data-code="PEER_RESTARTED"]').first()).toBeVisible({
    timeout: 45_000,
  })
  await bob.chatPartners(1)
  await alice.chatPartners(1)
  await alice.chat('hello again')
  await expect(bob.page.getByTestId('message').filter({ hasText: 'hello again' })).toBeVisible()
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
