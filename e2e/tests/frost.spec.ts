/**
 * FROST threshold signing from the demo page: three tabs and two `conclave-party --follow` Node
 * parties run a 3-of-5 DKG proposed by a tab and all report the same group key; then a tab signs
 * a message with exactly three signers (itself, another tab and one Node party, restarted with
 * `--protocol frost-sign` and its share file), and the signature verifies with plain Ed25519.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { expect, test } from '../support/fixtures.ts'
import type { Tab } from '../support/tab.ts'

test.setTimeout(240_000)

const FOLLOW = ['--follow', '--timeout', '600000', '--round-timeout', '120000']

function session(tab: Tab, kind: 'dkg' | 'sign', state?: string) {
  const s = state ? `[data-state="${state}"]` : ''
  return tab.page.locator(`[data-testid="frost-session"][data-kind="${kind}"]${s}`).first()
}

test('3 tabs and 2 Node parties make a 3-of-5 FROST key, then 3 of them sign', async ({ demo }) => {
  const share1 = await demo.file('node-1.share.json')
  const share2 = await demo.file('node-2.share.json')
  const dkg = (share: string) => [
    '--protocol',
    'frost-dkg',
    '--parties',
    '5',
    '--threshold',
    '3',
    '--share',
    share,
    ...FOLLOW,
  ]
  const [n1, n2] = await Promise.all([
    demo.nodeParty('node-1', { args: dkg(share1) }),
    demo.nodeParty('node-2', { args: dkg(share2) }),
  ])
  const tabs = await Promise.all(['alice', 'bob', 'carol'].map((n) => demo.tab(n)))
  const [alice, bob] = tabs as [Tab, Tab, Tab]
  for (const t of tabs) await t.readyPeers(4)

  // ── DKG, proposed by alice; the other tabs and the Node parties join by themselves ──
  await alice.page.getByTestId('frost-threshold').fill('3')
  await expect(alice.page.getByTestId('frost-create')).toHaveText(/with 5 parties/)
  await alice.page.getByTestId('frost-create').click()

  const keys: string[] = []
  for (const t of tabs) {
    const card = session(t, 'dkg')
    await expect(card).toHaveAttribute('data-state', 'done', { timeout: 120_000 })
    keys.push((await card.getByTestId('frost-group-key').textContent()) ?? '')
  }
  const groupKey = keys[0]!
  expect(groupKey).toMatch(/^[0-9a-f]{64}$/)
  expect(keys).toEqual([groupKey, groupKey, groupKey])
  for (const n of [n1, n2]) {
    const result = await n.child.waitFor((l) => l.event === 'result', 120_000, 'dkg result line')
    expect(result.groupPublicKey).toBe(groupKey)
    expect(await n.child.exited).toBe(0)
  }
  for (const t of tabs) {
    await expect(t.page.locator(`[data-testid="frost-key"][data-group-key="${groupKey}"]`)).toHaveCount(1)
  }

  // ── signing: alice + bob + node-1 (run again with its share) ──
  const text = `hello frost ${Date.now()}`
  const messageHex = Buffer.from(text, 'utf8').toString('hex')
  const signer = await demo.nodeParty('node-1-sign', {
    key: n1.key,
    args: ['--protocol', 'frost-sign', '--share', share1, '--message', messageHex, ...FOLLOW],
  })
  expect(signer.id).toBe(n1.id)
  for (const t of [alice, bob]) {
    await expect(t.peer(n1.id)).toHaveAttribute('data-state', 'ready', { timeout: 45_000 })
  }
  const bobId = await bob.partyId()

  const page = alice.page
  await expect(page.getByTestId('frost-key-select')).toHaveValue(groupKey)
  await page.getByTestId('frost-message').fill(text)
  const boxes = page.getByTestId('frost-signer')
  await expect(page.locator(`[data-testid="frost-signer"][data-party-id="${n1.id}"]`)).toBeVisible()
  await expect(page.locator(`[data-testid="frost-signer"][data-party-id="${bobId}"]`)).toBeVisible()
  for (const id of await boxes.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.partyId!))) {
    await page
      .locator(`[data-testid="frost-signer"][data-party-id="${id}"]`)
      .setChecked(id === n1.id || id === bobId)
  }
  await expect(page.getByTestId('frost-sign')).toHaveText('Sign with 3 signers')
  await page.getByTestId('frost-sign').click()
  // the proposal names exactly alice, bob and node-1
  const mine = session(alice, 'sign')
  await expect(mine).toContainText('with 3 signers')
  await expect(mine).toContainText(bobId.slice(0, 8))
  await expect(mine).toContainText(n1.id.slice(0, 8))

  const proposal = session(bob, 'sign', 'proposal')
  await expect(proposal).toBeVisible({ timeout: 30_000 })
  await expect(proposal).toContainText(text)
  await proposal.getByTestId('frost-join').click()

  const message = new TextEncoder().encode(text)
  const sigs: string[] = []
  for (const t of [alice, bob]) {
    const card = session(t, 'sign')
    await expect(card).toHaveAttribute('data-state', 'done', { timeout: 120_000 })
    await expect(card.getByTestId('frost-verified')).toContainText('verified ✓')
    sigs.push((await card.getByTestId('frost-signature').textContent()) ?? '')
  }
  const result = await signer.child.waitFor((l) => l.event === 'result', 120_000, 'sign result line')
  expect(result.groupPublicKey).toBe(groupKey)
  expect(result.message).toBe(messageHex)
  expect(await signer.child.exited).toBe(0)

  const sig = String(result.signature)
  expect(sigs).toEqual([sig, sig])
  expect(ed25519.verify(Buffer.from(sig, 'hex'), message, Buffer.from(groupKey, 'hex'))).toBe(true)
  // the session had exactly the three signers
  await expect(session(alice, 'sign')).toContainText('with 3 signers')
})
