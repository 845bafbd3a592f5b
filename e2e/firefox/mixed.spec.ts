/**
 * A Firefox tab, a Chromium tab and a Node party in one room: every link is a webrtc data channel
 * between two different WebRTC stacks (Gecko's, Chromium's, @roamhq/wrtc's). The two tabs send
 * each other a burst of chat messages at once; the Firefox tab proposes a secure-sum that the
 * other two join; the Chromium tab proposes a 2-of-3 FROST DKG that the others join; then the
 * Firefox tab signs a message with all three (the Node party run again with its share), and the
 * signature verifies with plain Ed25519 in the test process.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { test as base, expect } from '../support/fixtures.ts'
import { type Firefox, FirefoxTab, launchFirefox } from './firefox.ts'

/** `test` with a headless Firefox of its own, closed (its process killed by PID) after the test. */
const test = base.extend<{ firefox: Firefox }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a fixture uses from this pattern
  firefox: async ({}, use) => {
    const firefox = await launchFirefox()
    try {
      await use(firefox)
    } finally {
      await firefox.close()
    }
  },
})

test.setTimeout(240_000)

/** Chat messages each browser sends the other (2 kB each). */
const BURST = 300

const FOLLOW = ['--follow', '--timeout', '600000', '--round-timeout', '120000']

test('a Firefox tab, a Chromium tab and a Node party run secure-sum and a FROST signature', async ({
  demo,
  firefox,
}) => {
  // ── link up ──
  const node = await demo.nodeParty('node', { input: 300, roundTimeoutMs: 60_000 })
  const fox = await FirefoxTab.open(firefox, 'firefox', demo.url('firefox'))
  const chrome = await demo.tab('chromium')
  const foxId = await fox.partyId()
  const chromeId = await chrome.partyId()
  await fox.readyPeers(2)
  await chrome.readyPeers(2)
  for (const id of [chromeId, node.id]) {
    expect(await fox.peerAttribute(id, 'data-state'), `firefox → ${id}`).toBe('ready')
    expect(await fox.peerAttribute(id, 'data-transport'), `firefox → ${id}`).toBe('webrtc')
  }
  await expect(chrome.peer(foxId)).toHaveAttribute('data-transport', 'webrtc')
  for (const id of [foxId, chromeId]) {
    await node.child.waitFor(
      (l) => l.event === 'peer' && l.peer === id && l.state === 'ready',
      30_000,
      `ready ${id}`,
    )
  }

  // ── chat between the two browsers, both ways at once: batches fill frames up to the link's
  //    largest message, which each side read from its connection (Gecko and Chromium announce
  //    different SCTP limits) ──
  await fox.chatPartners(1)
  await chrome.chatPartners(1)
  const line = 'ü'.repeat(1000) // 2,000 bytes
  await Promise.all([fox.chat(line, BURST), chrome.chat(line, { repeat: BURST })])
  await fox.received(BURST)
  await expect(chrome.page.getByTestId('received-count')).toHaveAttribute('data-count', String(BURST), {
    timeout: 60_000,
  })
  // Firefox packed its 600 kB into frames past 16 KiB (the old interoperable limit), none past
  // the 64 KiB cap on what a link takes
  const largest = await fox.largestSend()
  console.log(`largest message Firefox sent on a data channel: ${largest} bytes`)
  expect(largest).toBeGreaterThan(16 * 1024)
  expect(largest).toBeLessThanOrEqual(64 * 1024)

  // ── secure-sum, proposed by Firefox ──
  await fox.startSum(1)
  await chrome.joinSum(20)
  const total = String(1 + 20 + 300)
  expect(await fox.sumTotal()).toBe(total)
  expect(await chrome.sumTotal()).toBe(total)
  const sum = await node.child.waitFor((l) => l.event === 'result', 60_000, 'sum result line')
  expect(sum.total).toBe(total)
  expect(await node.child.exited).toBe(0)
  await expect(chrome.sumCard()).toContainText('among 3 parties')

  // ── FROST DKG 2-of-3, proposed by Chromium; Firefox joins by itself, the Node party follows ──
  const share = await demo.file('node.share.json')
  const dkgArgs = [
    '--protocol',
    'frost-dkg',
    '--parties',
    '3',
    '--threshold',
    '2',
    '--share',
    share,
    ...FOLLOW,
  ]
  const dkgNode = await demo.nodeParty('node-dkg', { key: node.key, args: dkgArgs })
  expect(dkgNode.id).toBe(node.id)
  await expect(chrome.peer(node.id)).toHaveAttribute('data-state', 'ready', { timeout: 45_000 })
  await fox.peerState(node.id, 'ready')
  await chrome.page.getByTestId('frost-threshold').fill('2')
  await expect(chrome.page.getByTestId('frost-create')).toHaveText(/with 3 parties/)
  await chrome.page.getByTestId('frost-create').click()

  const dkgDone = chrome.page.locator('[data-testid="frost-session"][data-kind="dkg"][data-state="done"]')
  await expect(dkgDone).toHaveCount(1, { timeout: 120_000 })
  const groupKey = (await dkgDone.getByTestId('frost-group-key').textContent()) ?? ''
  expect(groupKey).toMatch(/^[0-9a-f]{64}$/)
  const foxDkg = fox.frostSession('dkg', 'done')
  await fox.waitFor(foxDkg, 120_000, 'the DKG to finish')
  expect(await fox.text(`${foxDkg} [data-testid="frost-group-key"]`)).toBe(groupKey)
  const dkg = await dkgNode.child.waitFor((l) => l.event === 'result', 120_000, 'dkg result line')
  expect(dkg.groupPublicKey).toBe(groupKey)
  expect(await dkgNode.child.exited).toBe(0)

  // ── signing with all three, proposed by Firefox ──
  const text = `firefox, chromium and node ${Date.now()}`
  const messageHex = Buffer.from(text, 'utf8').toString('hex')
  const signer = await demo.nodeParty('node-sign', {
    key: node.key,
    args: ['--protocol', 'frost-sign', '--share', share, '--message', messageHex, ...FOLLOW],
  })
  await fox.peerState(node.id, 'ready')
  await expect(chrome.peer(node.id)).toHaveAttribute('data-state', 'ready', { timeout: 45_000 })
  await fox.waitFor(`[data-testid="frost-key-select"] option[value="${groupKey}"]`, 30_000, 'the group key')
  await fox.fill('[data-testid="frost-message"]', text)
  await fox.chooseSigners([chromeId, node.id])
  await fox.waitFor('[data-testid="frost-sign"]:not([disabled])', 10_000, 'the sign button')
  expect(await fox.text('[data-testid="frost-sign"]')).toBe('Sign with 3 signers')
  await fox.click('[data-testid="frost-sign"]')

  const proposal = chrome.page.locator(
    '[data-testid="frost-session"][data-kind="sign"][data-state="proposal"]',
  )
  await expect(proposal).toBeVisible({ timeout: 30_000 })
  await expect(proposal).toContainText(text)
  await proposal.getByTestId('frost-join').click()

  const foxSign = fox.frostSession('sign', 'done')
  await fox.waitFor(foxSign, 120_000, 'the signature')
  expect(await fox.text(`${foxSign} [data-testid="frost-verified"]`)).toContain('verified ✓')
  const chromeSign = chrome.page.locator('[data-testid="frost-session"][data-kind="sign"][data-state="done"]')
  await expect(chromeSign).toHaveCount(1, { timeout: 120_000 })
  await expect(chromeSign.getByTestId('frost-verified')).toContainText('verified ✓')
  const signed = await signer.child.waitFor((l) => l.event === 'result', 120_000, 'sign result line')
  expect(signed.groupPublicKey).toBe(groupKey)
  expect(signed.message).toBe(messageHex)
  expect(await signer.child.exited).toBe(0)

  const signature = String(signed.signature)
  expect(await fox.text(`${foxSign} [data-testid="frost-signature"]`)).toBe(signature)
  expect(await chromeSign.getByTestId('frost-signature').textContent()).toBe(signature)
  const message = new TextEncoder().encode(text)
  expect(ed25519.verify(Buffer.from(signature, 'hex'), message, Buffer.from(groupKey, 'hex'))).toBe(true)
})
