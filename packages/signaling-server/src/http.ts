/**
 * The HTTP side of the server: health, metrics and the registry, read-only. socket.io takes the
 * requests under its own path before they get here.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from './log.ts'
import { type MetricsGauges, PROMETHEUS_CONTENT_TYPE, type SignalingMetrics } from './metrics.ts'
import type { Registry } from './registry.ts'

/** What the HTTP handler reads from. */
export interface HttpContext {
  registry: Registry
  metrics: SignalingMetrics
  log: Logger
  /** Gauges of this process now. */
  gauges(): Promise<MetricsGauges>
  /** When the server started listening (ms since epoch). */
  startedAt(): number
}

/** A Node `request` listener. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // Public, read-only data: a web page on another origin (the demo) may read it.
    'access-control-allow-origin': '*',
  })
  res.end(head ? undefined : body)
}

function json(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, head)
}

/**
 * Create the handler of:
 * - `GET /healthz` → `{ status: 'ok', uptimeSeconds, connectedSockets, registeredParties, rooms }`
 * - `GET /metrics` → Prometheus text
 * - `GET /registry/nodes` → `{ nodes: [{ partyId, label?, rooms, registeredAt, lastSeen, health? }] }`
 * - `GET /registry/stats` → `{ parties, rooms, memberships, largestRoom, connectedSockets, uptimeSeconds }`
 *
 * Anything else is 404 (405 for other methods on these paths).
 */
export function createHttpHandler(ctx: HttpContext): RequestHandler {
  const routes: Record<string, () => Promise<[status: number, type: 'json' | 'prometheus', body: unknown]>> =
    {
      '/healthz': async () => {
        const g = await ctx.gauges()
        return [200, 'json', { status: 'ok', uptimeSeconds: uptime(), ...g }]
      },
      '/metrics': async () => [200, 'prometheus', ctx.metrics.render(await ctx.gauges())],
      '/registry/nodes': async () => {
        const nodes = await ctx.registry.nodes()
        return [200, 'json', { nodes: nodes.map(({ socketId: _socketId, ...node }) => node) }]
      },
      '/registry/stats': async () => {
        const [stats, g] = await Promise.all([ctx.registry.stats(), ctx.gauges()])
        return [200, 'json', { ...stats, connectedSockets: g.connectedSockets, uptimeSeconds: uptime() }]
      },
    }

  function uptime(): number {
    return Math.max(0, Math.round((Date.now() - ctx.startedAt()) / 1000))
  }

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const route = routes[path]
    const head = req.method === 'HEAD'
    if (!route) return json(res, 404, { error: 'not found' }, head)
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD')
      return json(res, 405, { error: 'method not allowed' }, head)
    }
    route().then(
      ([status, type, body]) =>
        type === 'json'
          ? json(res, status, body, head)
          : send(res, status, PROMETHEUS_CONTENT_TYPE, String(body), head),
      (error: unknown) => {
        ctx.log.error('http_error', { path, error })
        json(res, 500, { error: 'internal error' }, head)
      },
    )
  }
}
