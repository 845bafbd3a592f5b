/**
 * (a) Three tabs and two `conclave-party --follow` Node processes join one room, every link
 * becomes ready, and a secure-sum started from a tab among all five gives the same, right total
 * in every tab and every process.
 */
import { expect, test } from '../support/fixtures.ts'

test('3 tabs and 2 Node parties link up and run secure-sum among all 5', async ({ demo }) => {
  const [n1, n2] = await Promise.all([
    demo.nodeParty('node-1', { input: 100, roundTimeoutMs: 60_000 }),
    demo.nodeParty('node-2', { input: 200, roundTimeoutMs: 60_000 }),
  ])
  const tabs = await Promise.all(['alice', 'bob', 'carol'].map((n) => demo.tab(n)))
  const ids = [n1.id, n2.id, ...(await Promise.all(tabs.map((t) => t.partyId())))]

  // every tab: 4 ready peers, the Node parties among them, over webrtc
  for (const t of tabs) await t.readyPeers(4)
  for (const t of tabs) {
    for (const n of [n1, n2]) {
      await expect(t.peer(n.id)).toHaveAttribute('data-state', 'ready')
      await expect(t.peer(n.id)).toHaveAttribute('data-transport', 'webrtc')
    }
  }
  // every Node party: a ready link to each of the 4 others
  for (const n of [n1, n2]) {
    for (const id of ids.filter((x) => x !== n.id)) {
      await n.child.waitFor(
        (l) => l.event === 'peer' && l.peer === id && l.state === 'ready',
        30_000,
        `ready ${id}`,
      )
    }
  }

  const [alice, bob, carol] = tabs as [(typeof tabs)[0], (typeof tabs)[0], (typeof tabs)[0]]
  await alice.startSum(1)
  await bob.joinSum(20)
  await carol.joinSum(-300)
  const expected = String(1 + 20 - 300 + 100 + 200)
  for (const t of tabs) expect(await t.sumTotal()).toBe(expected)
  for (const n of [n1, n2]) {
    const result = await n.child.waitFor((l) => l.event === 'result', 60_000, 'result line')
    expect(result.total).toBe(expected)
    expect(await n.child.exited).toBe(0)
  }
  // the session involved all five
  await expect(alice.sumCard()).toContainText('among 5 parties')
})
