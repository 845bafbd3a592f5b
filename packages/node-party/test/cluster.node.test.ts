/**
 * Node parties (wrtc, loopback candidates) on a signaling cluster: two `conclave-signal`
 * instances on one real Redis, parties split across them. They form a full mesh (most links are
 * negotiated across instances) and complete secure-sum; then one instance is killed, its
 * parties move to the other by themselves (`signalUrls`) and, with a newcomer that only knows
 * the surviving instance, complete a second secure-sum.
 */
import { generateIdentity, type Identity, type Party, type PartyId } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { runSecureSum } from '@conclave/protocols'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type RedisDaemon,
  type SignalInstance,
  skipWithout,
  startRedis,
  startSignalInstance,
} from '../../signaling-server/test/daemons.ts'
import { parseCommandLine } from '../src/args.ts'
import { type NodeParty, startNodeParty } from '../src/node-party.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function stats(url: string): Promise<{ parties: number; connectedSockets: number }> {
  return (await (await fetch(`${url}/registry/stats`)).json()) as {
    parties: number
    connectedSockets: number
  }
}

/** One secure-sum among `nodes`: the first proposes, the others join its proposal. */
async function secureSum(nodes: NodeParty[], inputs: bigint[]): Promise<bigint[]> {
  const ids = nodes.map((n) => n.party.id)
  const [first, ...rest] = nodes
  const offs: (() => void)[] = []
  const joined = rest.map(
    (n, i) =>
      new Promise<bigint>((resolve, reject) => {
        offs.push(
          n.party.on('proposal', (ev) => {
            if (ev.proposal.proposer !== first!.party.id) return
            runSecureSum(n.party.join(ev.proposal.sessionId), inputs[i + 1]!).then(resolve, reject)
          }),
        )
      }),
  )
  try {
    const session = await first!.party.propose({ protocol: 'secure-sum', participants: ids })
    return await Promise.all([runSecureSum(session, inputs[0]!), ...joined])
  } finally {
    for (const off of offs) off()
  }
}

function webrtcPeers(party: Party): PartyId[] {
  return party
    .peers()
    .filter((p) => p.transport === 'webrtc')
    .map((p) => p.peer)
}

describe.skipIf(skipWithout('redis-server', 'redis-server'))('node parties on a signaling cluster', () => {
  it('split over two instances: a full mesh and secure-sum; one instance killed: its parties move and finish', async () => {
    const crypto = createNodeCrypto()
    const redis: RedisDaemon = await startRedis()
    cleanups.push(() => redis.stop())
    const env = { REDIS_URL: redis.url, CONCLAVE_SIGNAL_REGISTRY_TTL_MS: '3000' }
    const a: SignalInstance = await startSignalInstance(env)
    cleanups.push(() => a.kill())
    const b: SignalInstance = await startSignalInstance(env)
    cleanups.push(() => b.kill())

    const start = async (identity: Identity, signal: string, others: string[]): Promise<NodeParty> => {
      const node = await startNodeParty({
        crypto,
        identity: identity.key,
        signal,
        signalUrls: others,
        room: 'cluster',
        loopbackOnly: true,
        inThread: true,
      })
      cleanups.push(() => node.stop())
      return node
    }
    const identities = await Promise.all([0, 1, 2, 3, 4].map(() => generateIdentity(crypto)))
    // two parties on each instance, each knowing the other instance as its fallback
    const nodes: NodeParty[] = []
    for (const [i, identity] of identities.slice(0, 4).entries()) {
      nodes.push(await start(identity, i < 2 ? a.url : b.url, [i < 2 ? b.url : a.url]))
    }
    expect((await (await fetch(`${a.url}/healthz`)).json()).connectedSockets).toBe(2)
    expect((await (await fetch(`${b.url}/healthz`)).json()).connectedSockets).toBe(2)
    expect((await stats(a.url)).parties).toBe(4)

    const ids = nodes.map((n) => n.party.id)
    await Promise.all(nodes.map((n) => n.party.waitForPeers(ids, { timeoutMs: 30_000 })))
    for (const n of nodes)
      expect(webrtcPeers(n.party).sort()).toEqual(ids.filter((id) => id !== n.party.id).sort())
    expect(await secureSum(nodes, [11n, -3n, 250n, 7n])).toEqual([265n, 265n, 265n, 265n])

    // instance a dies: its two parties lose their signaling connection and move to b
    await a.kill()
    await until(
      async () =>
        nodes.every((n) => n.signaling.state === 'registered') && (await stats(b.url)).connectedSockets === 4,
      20_000,
      'the parties of a to register on b',
    )
    expect((await stats(b.url)).parties).toBe(4)

    // a newcomer that knows only b links to all of them: signals to the moved parties go through b
    const newcomer = await start(identities[4]!, b.url, [])
    const all = [...nodes, newcomer]
    const allIds = all.map((n) => n.party.id)
    await Promise.all(all.map((n) => n.party.waitForPeers(allIds, { timeoutMs: 30_000 })))
    expect(await secureSum(all, [1n, 2n, 3n, 4n, 5n])).toEqual([15n, 15n, 15n, 15n, 15n])
    expect(await stats(b.url)).toMatchObject({ parties: 5, connectedSockets: 5 })
  }, 120_000)
})

describe('conclave-party --signal with several URLs', () => {
  it('takes a comma-separated list: the first, then the fallbacks', () => {
    const args = parseCommandLine(
      ['run', '--signal', 'http://127.0.0.1:1,http://127.0.0.1:2', '--room', 'r', '--key', 'k'],
      {},
    )
    expect(args).toMatchObject({ signal: 'http://127.0.0.1:1', signalUrls: ['http://127.0.0.1:2'] })
    expect(() =>
      parseCommandLine(['run', '--signal', 'http://127.0.0.1:1,nope', '--room', 'r', '--key', 'k'], {}),
    ).toThrow(expect.objectContaining({ code: 'USAGE' }))
  })

  it('checks ICE servers: known schemes, and credentials for TURN', () => {
    const base = ['run', '--signal', 'http://127.0.0.1:1', '--room', 'r', '--key', 'k']
    const turn = '[{"urls":"turn:127.0.0.1:3478?transport=udp","username":"u","credential":"p"}]'
    expect(parseCommandLine([...base, '--ice-servers', turn], {})).toMatchObject({
      iceServers: [{ urls: 'turn:127.0.0.1:3478?transport=udp', username: 'u', credential: 'p' }],
    })
    for (const bad of ['[{"urls":"turn:127.0.0.1:3478"}]', '[{"urls":["http://x"]}]']) {
      expect(() => parseCommandLine([...base, '--ice-servers', bad], {})).toThrow(
        expect.objectContaining({ code: 'USAGE' }),
      )
    }
  })
})
