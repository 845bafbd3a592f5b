/**
 * The signaling server: an HTTP server (health, metrics, registry) with socket.io on it.
 * @module
 */
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConclaveError } from '@conclave/core'
import { createNodeCrypto } from '@conclave/core/node'
import { Server } from 'socket.io'
import type { Cluster } from './cluster.ts'
import { resolveConfig, type SignalingServerConfig } from './config.ts'
import { type Connection, handleConnection } from './connection.ts'
import type { SignalingIo, VerifyFn } from './context.ts'
import { createHttpHandler, type Readiness } from './http.ts'
import { startKeepAlive } from './keepalive.ts'
import { createLogger, type Logger } from './log.ts'
import { createMetrics, type SignalingMetrics } from './metrics.ts'
import { createRedisCluster } from './redis-cluster.ts'
import { createMemoryRegistry, type Registry } from './registry.ts'

/** Options of {@link createSignalingServer}: any {@link SignalingServerConfig} field, and the seams. */
export interface SignalingServerOptions extends Partial<SignalingServerConfig> {
  /**
   * Signature check of registrations.
   * @default strict Ed25519 through node:crypto, synchronously (`createNodeCrypto()`'s
   *   `verifySync`: the same acceptance rule as every core backend, ~0.15 ms of CPU against
   *   ~2 ms through noble, and no hop to a worker thread)
   */
  verify?: VerifyFn
  /** Membership and presence store. @default the cluster's, else createMemoryRegistry() (one process) */
  registry?: Registry
  /**
   * The cluster this instance is part of: shared registry and cross-instance delivery.
   * @default createRedisCluster(…) when `redisUrl` is set, else none (one process)
   */
  cluster?: Cluster
  /** @default a JSON-lines logger on stderr at `logLevel` */
  logger?: Logger
}

/** Where a started server listens. */
export interface ListeningAddress {
  /** `http://<host>:<port>` of the bound socket (what clients on this host dial). */
  url: string
  port: number
  /** The origin named in challenges (the `origin` option, else `url`'s origin). */
  origin: string
}

/** A signaling server (see {@link createSignalingServer}). */
export interface SignalingServer {
  /**
   * Listen. Resolves with the bound address.
   * @throws the listen error (e.g. `EADDRINUSE`); `INVALID_ARGUMENT` if already started
   */
  start(): Promise<ListeningAddress>
  /** Disconnect every socket and close the HTTP server. Idempotent. */
  stop(): Promise<void>
  readonly registry: Registry
  readonly metrics: SignalingMetrics
  readonly config: Readonly<SignalingServerConfig>
  /** Sockets connected to this process now. */
  readonly connections: number
}

/** How long `GET /readyz` waits for the cluster store's answer. */
const READINESS_TIMEOUT_MS = 1000

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/**
 * Create a signaling server. Nothing listens until `start()`.
 *
 * @example
 * ```ts
 * const server = createSignalingServer({ host: '127.0.0.1', port: 0 })
 * const { url } = await server.start()
 * // … createSignalingClient({ url, … })
 * await server.stop()
 * ```
 * @throws ConclaveError `INVALID_ARGUMENT` on a bad option
 */
export function createSignalingServer(options: SignalingServerOptions = {}): SignalingServer {
  const {
    verify: verifyOption,
    registry: registryOption,
    cluster: clusterOption,
    logger,
    ...partial
  } = options
  const config = resolveConfig(partial)
  const log = logger ?? createLogger({ level: config.logLevel })
  if (clusterOption && registryOption) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      'pass "cluster" or "registry", not both: a cluster brings its registry',
    )
  }
  const cluster: Cluster | undefined =
    clusterOption ??
    (config.redisUrl === undefined
      ? undefined
      : createRedisCluster({
          url: config.redisUrl,
          prefix: config.redisPrefix,
          ttlMs: config.registryTtlMs,
          log,
        }))
  const registry = registryOption ?? cluster?.registry ?? createMemoryRegistry()
  const metrics = createMetrics()
  const verify: VerifyFn = verifyOption ?? nativeVerify()
  const connections = new Map<string, Connection>()
  let http: HttpServer | undefined
  let io: SignalingIo | undefined
  let sweeper: ReturnType<typeof setInterval> | undefined
  let stopKeepAlive: (() => void) | undefined
  let startedAt = Date.now()
  let stopping: Promise<void> | undefined

  async function readiness(): Promise<Readiness> {
    // Not ready before the socket.io server is up, nor once stop() was called.
    const accepting = io !== undefined && stopping === undefined
    if (!cluster) return { ready: accepting, store: 'none', accepting }
    const reachable = await cluster.reachable(READINESS_TIMEOUT_MS)
    return { ready: reachable && accepting, store: reachable ? 'ok' : 'down', accepting }
  }

  function listen(server: HttpServer): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error)
      server.once('error', onError)
      server.listen(config.port, config.host, () => {
        server.off('error', onError)
        resolve(server.address() as AddressInfo)
      })
    })
  }

  return {
    registry,
    metrics,
    config,
    get connections() {
      return connections.size
    },

    async start() {
      if (http) throw new ConclaveError('INVALID_ARGUMENT', 'signaling server already started')
      stopping = undefined
      await cluster?.start()
      const server = createServer(
        createHttpHandler({
          registry,
          metrics,
          log,
          connectedSockets: () => connections.size,
          startedAt: () => startedAt,
          readiness,
          registryToken: config.registryToken,
        }),
      )
      http = server
      let address: AddressInfo
      try {
        address = await listen(server)
      } catch (error) {
        http = undefined
        await cluster?.stop()
        throw error
      }
      startedAt = Date.now()
      const url = `http://${hostForUrl(config.host)}:${address.port}`
      const origin = config.origin ?? new URL(url).origin
      const ioServer: SignalingIo = new Server(server, {
        // websocket only: no sticky sessions needed behind a balancer, no CORS preflights.
        transports: ['websocket'],
        // The transport cuts any single packet past this; the handlers refuse smaller oversize payloads with a code.
        maxHttpBufferSize: config.maxPayloadBytes + config.payloadOverheadBytes,
        serveClient: false,
        connectTimeout: config.registrationTimeoutMs,
        ...(cluster ? { adapter: cluster.adapter } : {}),
      })
      io = ioServer
      ioServer.on('connection', (socket) => {
        const connection = handleConnection(
          { io: ioServer, config, origin, registry, metrics, log, verify },
          socket,
        )
        connections.set(socket.id, connection)
        socket.on('disconnect', () => connections.delete(socket.id))
      })
      const period = Math.max(
        100,
        Math.min(5000, Math.floor(Math.min(config.heartbeatTimeoutMs, config.registrationTimeoutMs) / 4)),
      )
      sweeper = setInterval(() => {
        const now = Date.now()
        for (const connection of [...connections.values()]) connection.sweep(now)
      }, period)
      sweeper.unref()
      if (cluster) stopKeepAlive = startKeepAlive(cluster, connections, log)
      if (config.origin === undefined && (config.host === '0.0.0.0' || config.host === '::')) {
        log.warn('origin_unset', {
          host: config.host,
          hint: 'set --origin to the URL clients dial, or they refuse the challenge',
        })
      }
      log.info('listening', { url, origin, ...(cluster ? { cluster: cluster.instanceId } : {}) })
      return { url, port: address.port, origin }
    },

    stop() {
      if (stopping) return stopping
      const server = http
      const ioServer = io
      if (!server || !ioServer) return Promise.resolve()
      if (sweeper) clearInterval(sweeper)
      sweeper = undefined
      stopKeepAlive?.()
      stopKeepAlive = undefined
      stopping = new Promise<void>((resolve) => {
        // io.close() disconnects every socket and closes the HTTP server with it.
        ioServer.close(() => resolve())
        server.closeAllConnections()
      }).then(async () => {
        // The disconnect handlers' registry writes are queued by now: let them finish.
        await cluster?.stop()
        http = undefined
        io = undefined
        log.info('stopped')
      })
      return stopping
    },
  }
}

/** Strict Ed25519 through node:crypto, checked on this thread. */
function nativeVerify(): VerifyFn {
  const ed = createNodeCrypto().ed25519
  const check = ed.verifySync
  return check ? async (pk, message, signature) => check(pk, message, signature) : ed.verify
}
