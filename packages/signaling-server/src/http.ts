/**
 * The HTTP side of the server: probes, metrics and the registry, read-only. socket.io takes the
 * requests under its own path before they get here.
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Logger } from './log.ts'
import { type MetricsGauges, PROMETHEUS_CONTENT_TYPE, type SignalingMetrics } from './metrics.ts'
import { createTokenCheck } from './operator-token.ts'
import type { Registry, RegistryStats } from './registry.ts'
import { within } from './within.ts'

/** Whether this instance should be sent new parties (`GET /readyz`). */
export interface Readiness {
  ready: boolean
  /** The cluster store: `'ok'`, `'down'` (unreachable), or `'none'` (one process, no store). */
  store: 'ok' | 'down' | 'none'
  /** Whether socket.io is up and `stop()` was not called. */
  accepting: boolean
}

/** What the HTTP handler reads from. */
export interface HttpContext {
  registry: Registry
  metrics: SignalingMetrics
  log: Logger
  /** Sockets connected to this process now. */
  connectedSockets(): number
  /** When the server started listening (ms since epoch). */
  startedAt(): number
  /** Readiness now (it may ask the cluster store, within a short timeout). */
  readiness(): Promise<Readiness>
  /** Bearer token that `GET /registry/nodes` requires; undefined: the listing is off. */
  registryToken: string | undefined
}

/** A Node `request` listener. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/** Codes of the HTTP error bodies (`{ error, code }`). */
export type HttpErrorCode =
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REGISTRY_LISTING_OFF'
  | 'UNAUTHORIZED'
  | 'INTERNAL'

/** How long `/metrics` waits for the registry's gauges before answering without them. */
const SCRAPE_REGISTRY_TIMEOUT_MS = 2000

interface Reply {
  status: number
  body: unknown
  /** Prometheus text rather than JSON. */
  prometheus?: boolean
  /** Extra headers. */
  headers?: OutgoingHttpHeaders
  /**
   * Whether a page on another origin may read it (`access-control-allow-origin: *`): yes for the
   * public numbers and errors (as before), never for the registry listing.
   */
  crossOrigin: boolean
}

const fail = (status: number, code: HttpErrorCode, error: string, headers?: OutgoingHttpHeaders): Reply => ({
  status,
  body: { error, code },
  crossOrigin: true,
  ...(headers ? { headers } : {}),
})

function send(res: ServerResponse, reply: Reply, head: boolean): void {
  const body = reply.prometheus ? String(reply.body) : `${JSON.stringify(reply.body)}\n`
  res.writeHead(reply.status, {
    'content-type': reply.prometheus ? PROMETHEUS_CONTENT_TYPE : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(reply.crossOrigin ? { 'access-control-allow-origin': '*' } : {}),
    ...reply.headers,
  })
  res.end(head ? undefined : body)
}

/**
 * Create the handler of:
 * - `GET /livez` → 200 `{ status: 'ok' }` while the process serves HTTP (it asks nothing else)
 * - `GET /readyz` → 200 `{ status: 'ready', store }` when this instance can take parties (its
 *   Redis answers, when it has one), else 503 `{ status: 'unready', store, accepting }`
 * - `GET /healthz` → `{ status: 'ok', uptimeSeconds, connectedSockets, registeredParties, rooms }`
 *   (500 while the registry cannot be read)
 * - `GET /metrics` → Prometheus text; answers while the registry cannot be read, with
 *   `conclave_signal_registry_up 0` and without the registry's gauges
 * - `GET /registry/nodes` → `{ nodes: [{ partyId, label?, rooms, registeredAt, lastSeen, health? }] }`,
 *   only with `Authorization: Bearer <registryToken>` (401 `UNAUTHORIZED` without or with a wrong
 *   one; 403 `REGISTRY_LISTING_OFF` when no token is configured); never readable cross-origin
 * - `GET /registry/stats` → `{ parties, rooms, memberships, largestRoom, connectedSockets, uptimeSeconds }`
 *
 * Anything else is 404 (405 for other methods on these paths).
 */
export function createHttpHandler(ctx: HttpContext): RequestHandler {
  const checkToken = ctx.registryToken === undefined ? undefined : createTokenCheck(ctx.registryToken)
  const uptime = (): number => Math.max(0, Math.round((Date.now() - ctx.startedAt()) / 1000))
  const gauges = (stats: RegistryStats): MetricsGauges => ({
    connectedSockets: ctx.connectedSockets(),
    registeredParties: stats.parties,
    rooms: stats.rooms,
  })

  const routes: Record<string, (req: IncomingMessage) => Promise<Reply>> = {
    '/livez': async () => ({ status: 200, body: { status: 'ok' }, crossOrigin: true }),
    '/readyz': async () => {
      const { ready, store, accepting } = await ctx.readiness()
      return ready
        ? { status: 200, body: { status: 'ready', store }, crossOrigin: true }
        : { status: 503, body: { status: 'unready', store, accepting }, crossOrigin: true }
    },
    '/healthz': async () => {
      const g = gauges(await ctx.registry.stats())
      return { status: 200, body: { status: 'ok', uptimeSeconds: uptime(), ...g }, crossOrigin: true }
    },
    '/metrics': async () => {
      const stats = await within(ctx.registry.stats(), SCRAPE_REGISTRY_TIMEOUT_MS)
      if (!stats) ctx.log.warn('metrics_registry_unavailable', {})
      const scraped = stats ? gauges(stats) : { connectedSockets: ctx.connectedSockets() }
      return { status: 200, body: await ctx.metrics.render(scraped), prometheus: true, crossOrigin: true }
    },
    '/registry/nodes': async (req) => {
      if (!checkToken) {
        const off = 'registry listing is off: start the server with a registry token'
        return { ...fail(403, 'REGISTRY_LISTING_OFF', off), crossOrigin: false }
      }
      if (checkToken(req.headers.authorization) !== 'ok') {
        const reply = fail(401, 'UNAUTHORIZED', 'expected Authorization: Bearer <registry token>', {
          'www-authenticate': 'Bearer realm="conclave-signal"',
        })
        return { ...reply, crossOrigin: false }
      }
      const nodes = await ctx.registry.nodes()
      return {
        status: 200,
        body: { nodes: nodes.map(({ socketId: _socketId, ...node }) => node) },
        crossOrigin: false,
      }
    },
    '/registry/stats': async () => {
      const stats = await ctx.registry.stats()
      const body = { ...stats, connectedSockets: ctx.connectedSockets(), uptimeSeconds: uptime() }
      return { status: 200, body, crossOrigin: true }
    },
  }

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const route = routes[path]
    const head = req.method === 'HEAD'
    if (!route) return send(res, fail(404, 'NOT_FOUND', 'not found'), head)
    if (req.method !== 'GET' && !head)
      return send(res, fail(405, 'METHOD_NOT_ALLOWED', 'method not allowed', { allow: 'GET, HEAD' }), head)
    route(req).then(
      (reply) => send(res, reply, head),
      (error: unknown) => {
        ctx.log.error('http_error', { path, error })
        send(res, fail(500, 'INTERNAL', 'internal error'), head)
      },
    )
  }
}
