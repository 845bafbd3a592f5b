/**
 * The {@link Cluster} on Redis: the socket.io Redis adapter (`@socket.io/redis-adapter`, on
 * ioredis as its documentation recommends) for delivery across instances, and the Redis
 * registry for shared state. One publisher connection (also used for the registry's commands)
 * and one subscriber connection per instance.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import type { Cluster } from './cluster.ts'
import type { Logger } from './log.ts'
import { createRedisRegistry, type RedisRegistry } from './redis-registry.ts'
import { within } from './within.ts'

/** Options of {@link createRedisCluster}. */
export interface RedisClusterOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string
  /** Prefix of every key and pub/sub channel. @default 'conclave' */
  prefix?: string
  /** Time to live of a registration its instance stops refreshing, in ms. @default 30000 */
  ttlMs?: number
  /** Connection problems are logged here. */
  log?: Logger
}

/** Make `methods` of `redis` report their failures instead of leaving them unhandled. */
function handleFailures(
  redis: Redis,
  methods: readonly string[],
  report: (command: string) => (error: unknown) => void,
): void {
  const target = redis as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const name of methods) {
    const original = target[name]
    if (typeof original !== 'function') continue
    target[name] = (...args: unknown[]) => {
      const result = original.apply(redis, args)
      if (result instanceof Promise) result.catch(report(name))
      return result
    }
  }
}

/** A Redis URL with its password replaced, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(invalid url)'
  }
}

/**
 * Create the Redis cluster seam. Nothing connects until `start()`.
 *
 * @example
 * ```ts
 * const server = createSignalingServer({ redisUrl: 'redis://127.0.0.1:6379' }) // builds one itself
 * // or, to share or configure it:
 * const cluster = createRedisCluster({ url: 'redis://127.0.0.1:6379', ttlMs: 10_000 })
 * const server2 = createSignalingServer({ cluster })
 * ```
 */
export function createRedisCluster(options: RedisClusterOptions): Cluster & { registry: RedisRegistry } {
  const prefix = options.prefix ?? 'conclave'
  const ttlMs = options.ttlMs ?? 30_000
  const log = options.log
  const instanceId = randomBytes(6).toString('hex')
  const where = redactRedisUrl(options.url)
  const client = (role: string): Redis => {
    const redis = new Redis(options.url, {
      lazyConnect: true,
      connectionName: `conclave-signal:${instanceId}:${role}`,
      // Fail a command after a few reconnection attempts rather than holding a signal for long.
      maxRetriesPerRequest: 3,
      connectTimeout: 5000,
    })
    let down = false
    redis.on('error', (error: Error) => {
      if (down) return
      down = true
      log?.error('redis_error', { role, redis: where, error })
    })
    redis.on('ready', () => {
      if (down) log?.info('redis_ready', { role, redis: where })
      down = false
    })
    return redis
  }
  const pub = client('pub')
  const sub = client('sub')
  // The adapter calls these without handling a failure: while Redis is unreachable each would be
  // an unhandled rejection (fatal in Node). A message lost so is lost as over any broken link:
  // signals are retried by the parties' connection attempts, relay frames by their streams;
  // ioredis subscribes again by itself once it reconnects.
  let lost = 0
  const report = (command: string) => (error: unknown) => {
    if (lost++ % 1000 === 0) log?.warn('redis_command_lost', { command, lost, error })
  }
  handleFailures(pub, ['publish'], report)
  handleFailures(sub, ['psubscribe', 'punsubscribe', 'subscribe', 'unsubscribe'], report)
  const registry = createRedisRegistry({
    redis: pub,
    prefix,
    ttlMs,
    instanceId,
    ...(log ? { log } : {}),
  })
  let stopping: Promise<void> | undefined

  /** QUIT (after the pending replies) when connected; otherwise just drop the connection. */
  async function quit(redis: Redis): Promise<void> {
    if (redis.status !== 'ready') {
      // A QUIT queued while Redis is away fails later with nobody waiting for it.
      redis.disconnect()
      return
    }
    try {
      await redis.quit()
    } catch {
      redis.disconnect()
    }
  }

  return {
    instanceId,
    registry,
    keepAliveMs: Math.max(250, Math.floor(ttlMs / 3)),
    adapter: createAdapter(pub, sub, { key: `${prefix}:io` }),

    async start() {
      stopping = undefined
      try {
        await Promise.all([pub.connect(), sub.connect()])
        await registry.load()
      } catch (error) {
        pub.disconnect()
        sub.disconnect()
        throw error
      }
      log?.info('cluster_joined', { redis: where, prefix, instanceId, ttlMs })
    },

    async reachable(timeoutMs) {
      // Both connections up (delivery needs the subscriber too), and a PING answered in time.
      if (pub.status !== 'ready' || sub.status !== 'ready') return false
      return (await within(pub.ping(), timeoutMs)) === 'PONG'
    },

    keepAlive(members) {
      return registry.keepAlive(members)
    },

    stop() {
      stopping ??= (async () => {
        await registry.drain()
        await Promise.all([quit(pub), quit(sub)])
      })()
      return stopping
    },
  }
}
