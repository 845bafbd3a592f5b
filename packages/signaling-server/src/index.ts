/**
 * `@conclave/signaling-server`: the Conclave signaling server. Parties connect over socket.io,
 * prove their Ed25519 identity against a challenge that names this server's origin, and then
 * join rooms, see presence, exchange WebRTC signals and relay opaque frames with parties in the
 * same room. HTTP: `GET /livez` and `/readyz` (Kubernetes probes), `/healthz`, `/metrics`
 * (Prometheus, through prom-client), `/registry/stats`, and `/registry/nodes` (only with the
 * operator token, `registryToken`).
 *
 * One process keeps everything in memory; with `redisUrl` (`REDIS_URL`) several instances serve
 * one network through Redis (see {@link createRedisCluster} and `docs/deploy.md`).
 *
 * Run it with `conclave-signal --host 127.0.0.1 --port 8787` (see `--help`), or embed it:
 * @example
 * ```ts
 * import { createSignalingServer } from '@conclave/signaling-server'
 * const server = createSignalingServer({ port: 0 })
 * const { url } = await server.start()
 * ```
 * @module @conclave/signaling-server
 */
export { createTokenBucket, type TokenBucket } from './bucket.ts'
export type { Cluster, KeepAliveStatus } from './cluster.ts'
export {
  type CommandLine,
  DEFAULT_CONFIG,
  HELP,
  parseCommandLine,
  resolveConfig,
  type SignalingServerConfig,
} from './config.ts'
export type { VerifyFn } from './context.ts'
export {
  createHttpHandler,
  type HttpContext,
  type HttpErrorCode,
  type Readiness,
  type RequestHandler,
} from './http.ts'
export { createLogger, type LogFields, type Logger, type LoggerOptions, type LogLevel } from './log.ts'
export {
  createMetrics,
  type LatencyKind,
  type MetricsCounters,
  type MetricsGauges,
  PROMETHEUS_CONTENT_TYPE,
  type ScrapeGauges,
  type SignalingMetrics,
} from './metrics.ts'
export { createRedisCluster, type RedisClusterOptions, redactRedisUrl } from './redis-cluster.ts'
export { createRedisRegistry, type RedisRegistry, type RedisRegistryOptions } from './redis-registry.ts'
export {
  createMemoryRegistry,
  type JoinLimits,
  type JoinResult,
  type Member,
  type MemoryRegistryOptions,
  type PartyRecord,
  type Registry,
  type RegistryStats,
} from './registry.ts'
export {
  createSignalingServer,
  type ListeningAddress,
  type SignalingServer,
  type SignalingServerOptions,
} from './server.ts'
