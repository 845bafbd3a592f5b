/**
 * The e2e fixture: tabs (one `browser.newContext()` per party) and `conclave-party` Node
 * processes in a room of their own, all torn down after the test (children killed by PID).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isEvent, type PartyChild } from '@conclave/node-party/testing'
import { type Browser, test as base } from '@playwright/test'
import { killAll, spawnPartyChild } from './processes.ts'
import { Tab } from './tab.ts'

/** What the servers started by the global setup are. */
export function servers(): { signal: string; web: string } {
  const signal = process.env.CONCLAVE_SIGNAL_URL
  const web = process.env.CONCLAVE_WEB_URL
  if (!signal || !web)
    throw new Error('CONCLAVE_SIGNAL_URL / CONCLAVE_WEB_URL unset: run through playwright.config.ts')
  return { signal, web }
}

/** A headless Node party. */
export interface NodeParty {
  name: string
  id: string
  child: PartyChild
  /** The identity file (pass it as `key` to run the same party again). */
  key: string
}

/** Options of {@link Demo.nodeParty}. */
export interface NodePartyOptions {
  /** This party's secure-sum input; with it the party follows secure-sum proposals (`--follow`). */
  input?: bigint | number
  /** `--round-timeout` (ms). */
  roundTimeoutMs?: number
  /** Keep answering proposals until killed (`--serve`) instead of exiting after one result. */
  serve?: boolean
  /** Reuse this identity file (of an earlier run of the same party) instead of making one. */
  key?: string
  /** More `run` arguments, e.g. `['--protocol', 'frost-dkg', '--follow', …]`. */
  args?: string[]
}

/** Parties of one test, in one room. */
export class Demo {
  readonly tabs: Tab[] = []
  readonly nodes: NodeParty[] = []
  private dir: string | undefined

  constructor(
    private readonly browser: Browser,
    readonly room: string,
  ) {}

  /** The page's URL for this room, with more settings in `params` (e.g. `{ outbox: '0' }`). */
  url(label?: string, params: Record<string, string> = {}): string {
    const { signal, web } = servers()
    const q = new URLSearchParams({ room: this.room, signal, ...(label ? { label } : {}), ...params })
    return `${web}/?${q}`
  }

  /** Open a tab in a fresh browser context and wait until it joined the room. */
  async tab(
    name: string,
    viewport = { width: 1280, height: 860 },
    params: Record<string, string> = {},
  ): Promise<Tab> {
    const context = await this.browser.newContext({ viewport })
    const page = await context.newPage()
    const tab = new Tab(name, context, page)
    this.tabs.push(tab)
    page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`))
    await page.goto(this.url(name, params))
    await tab.started()
    return tab
  }

  /** Start `conclave-party run` (default ICE candidates: tabs link over the interface address). */
  async nodeParty(name: string, o: NodePartyOptions = {}): Promise<NodeParty> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'conclave-e2e-'))
    let key = o.key
    let partyId = o.key ? this.nodes.find((n) => n.key === o.key)?.id : undefined
    if (!key || !partyId) {
      key = join(this.dir, `${name}.json`)
      const keygen = spawnPartyChild(`${name} keygen`, ['keygen', '--json', '--out', key, '--label', name])
      const made = await keygen.waitFor(isEvent('keygen'), 30_000, 'keygen line')
      await keygen.exited
      partyId = made.partyId
    }
    const { signal } = servers()
    const args = ['run', '--json', '--signal', signal, '--room', this.room, '--key', key]
    if (o.input !== undefined) {
      args.push('--protocol', 'secure-sum', '--input', String(o.input), o.serve ? '--serve' : '--follow')
      args.push('--timeout', '600000')
    }
    if (o.roundTimeoutMs !== undefined) args.push('--round-timeout', String(o.roundTimeoutMs))
    if (o.args) args.push(...o.args)
    const child = spawnPartyChild(name, args)
    await child.waitFor(isEvent('ready'), 30_000, 'ready line')
    const party = { name, id: partyId, child, key }
    this.nodes.push(party)
    return party
  }

  /** A path in this test's temporary directory (e.g. for a key share file). */
  async file(name: string): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'conclave-e2e-'))
    return join(this.dir, name)
  }

  async close(): Promise<void> {
    await Promise.all(this.tabs.map((t) => t.context.close().catch(() => undefined)))
    await killAll()
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }
}

/** `test` with a `demo` fixture (a fresh room per test). */
export const test = base.extend<{ demo: Demo }>({
  demo: async ({ browser }, use, info) => {
    const room = `e2e-${info.testId.slice(0, 8)}-${Date.now().toString(36)}`
    const demo = new Demo(browser, room)
    try {
      await use(demo)
    } finally {
      if (info.status !== info.expectedStatus) {
        for (const n of demo.nodes) {
          await info.attach(`${n.name}.jsonl`, {
            body: `${n.child.lines.map((l) => JSON.stringify(l)).join('\n')}\n--- stderr\n${n.child.stderr.join('')}`,
            contentType: 'text/plain',
          })
        }
      }
      await demo.close()
    }
  },
})

export { expect } from '@playwright/test'
