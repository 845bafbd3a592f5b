/**
 * The probes and the metrics of an instance whose Redis goes away (a real `redis-server` on
 * 127.0.0.1, started and stopped here): `/livez` keeps answering 200, `/readyz` answers 503 until
 * Redis is back, `/healthz` answers 500 as before, and `/metrics` keeps answering 200 with
 * `conclave_signal_registry_up 0` and without the gauges only the registry knows.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { skipWithout, startRedis } from './daemons.ts'
import { cleanup, onCleanup, party, sample, startServer, until } from './harness.ts'

afterEach(cleanup)

const status = async (url: string): Promise<number> => (await fetch(url)).status

describe.skipIf(skipWithout('redis-server', 'redis-server'))('probes while Redis is away', () => {
  it('/metrics and /livez answer, /readyz says 503, and all recover with Redis', async () => {
    const redis = await startRedis()
    onCleanup(() => redis.stop())
    const { url } = await startServer({
      redisUrl: redis.url,
      redisPrefix: `t${randomBytes(4).toString('hex')}`,
      registryTtlMs: 1500,
    })
    await party(url, 'room1')
    expect(await status(`${url}/readyz`)).toBe(200)
    const up = await (await fetch(`${url}/metrics`)).text()
    expect(sample(up, 'conclave_signal_registry_up')).toBe(1)
    expect(sample(up, 'conclave_signal_registered_parties')).toBe(1)

    await redis.stop()
    await until(async () => (await status(`${url}/healthz`)) === 500, 10_000, '/healthz to fail')
    expect(await status(`${url}/livez`)).toBe(200)
    expect(await status(`${url}/readyz`)).toBe(503)
    const res = await fetch(`${url}/metrics`)
    expect(res.status).toBe(200)
    const down = await res.text()
    expect(sample(down, 'conclave_signal_registry_up')).toBe(0)
    expect(sample(down, 'conclave_signal_connected_sockets')).toBe(1)
    // What only the registry knows is left out rather than reported as 0.
    expect(sample(down, 'conclave_signal_registered_parties')).toBeUndefined()
    expect(sample(down, 'conclave_signal_rooms')).toBeUndefined()
    expect(sample(down, 'conclave_signal_registrations_total')).toBe(1)
    expect(sample(down, 'process_cpu_seconds_total')).toBeGreaterThan(0)

    const again = await startRedis(redis.port)
    onCleanup(() => again.stop())
    await until(async () => (await status(`${url}/readyz`)) === 200, 15_000, '/readyz to recover')
    const back = await (await fetch(`${url}/metrics`)).text()
    expect(sample(back, 'conclave_signal_registry_up')).toBe(1)
  }, 60_000)
})
