/**
 * The signaling client with several server URLs (`urls`): it moves to the next server when the
 * current one cannot be reached, signs each challenge for the origin it dialled, keeps its rooms,
 * and still refuses a challenge naming another origin.
 */
import { createSignalingClient, type SignalingClientOptions } from '@conclave/core/signaling'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from './daemons.ts'
import { cleanup, identity, onCleanup, startServer, until } from './harness.ts'

afterEach(cleanup)

/** The URL of a port nothing listens on. */
const freeUrl = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`

async function client(options: Pick<SignalingClientOptions, 'url' | 'urls'>) {
  const id = await identity()
  const c = createSignalingClient({
    ...options,
    publicKey: id.publicKey,
    sign: id.sign,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  })
  onCleanup(() => c.stop())
  return c
}

describe('signaling client with several servers', () => {
  it('skips a server that cannot be reached and registers on the next', async () => {
    const down = await freeUrl()
    const { url, server } = await startServer()
    const c = await client({ url: down, urls: [url] })
    await c.start({ signal: AbortSignal.timeout(10_000) })
    expect(c.state).toBe('registered')
    expect((await server.registry.nodes()).map((n) => n.partyId)).toEqual([c.partyId])
  })

  it('moves to the next server when its own goes away, and joins its rooms again there', async () => {
    const a = await startServer()
    const b = await startServer()
    const c = await client({ url: a.url, urls: [b.url] })
    await c.start()
    await c.join('room1')
    expect((await a.server.registry.stats()).parties).toBe(1)
    await a.server.stop()
    await until(
      async () => (await b.server.registry.nodes()).some((n) => n.rooms.includes('room1')),
      10_000,
      'registration and room on b',
    )
    expect(c.state).toBe('registered')
    expect(c.rooms).toEqual(['room1'])
  })

  it('keeps trying the servers in turn until one comes up', async () => {
    const [x, y] = [await freeUrl(), await freeUrl()]
    const c = await client({ url: x, urls: [y] })
    const started = c.start({ signal: AbortSignal.timeout(15_000) })
    await new Promise((r) => setTimeout(r, 600))
    expect(c.state).toBe('disconnected')
    const { server } = await startServer({ port: Number(new URL(y).port) })
    await started
    expect((await server.registry.stats()).parties).toBe(1)
  })

  it('refuses a challenge that names another origin than the URL it dialled', async () => {
    const a = await startServer()
    const b = await startServer({ origin: a.origin })
    const c = await client({ url: b.url, urls: [a.url] })
    const error = await c.start({ signal: AbortSignal.timeout(5000) }).then(
      () => undefined,
      (e: { code?: string }) => e.code,
    )
    expect(error).toBe('ORIGIN_MISMATCH')
    expect((await a.server.registry.stats()).parties).toBe(0)
  })

  it('checks every URL when created', async () => {
    await expect(client({ url: 'http://127.0.0.1:1', urls: ['ftp://x'] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
})
