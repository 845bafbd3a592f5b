/**
 * Server metrics through `prom-client`, and their Prometheus text exposition (`GET /metrics`).
 *
 * Each server has its own prom-client registry (several servers may run in one process); the
 * default process and Node metrics (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`,
 * `nodejs_eventloop_lag_seconds`, GC…) live in one registry per process, created on first use,
 * because their collectors install process-wide observers that nothing could remove again.
 * @module
 */
import { readFileSync } from 'node:fs'
import { SIGNALING_VERSIONS, type SignalingErrorCode } from '@conclave/core/signaling'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** Values read at scrape time rather than counted. */
export interface MetricsGauges {
  connectedSockets: number
  registeredParties: number
  rooms: number
}

/**
 * What a scrape found: the gauges of this process always; the registry's only when it answered
 * (a Redis registry may be unreachable, and then they are left out rather than reported as 0).
 */
export type ScrapeGauges = Pick<MetricsGauges, 'connectedSockets'> & Partial<MetricsGauges>

/** Counters of one server process (monotonic since start). */
export interface MetricsCounters {
  connections: number
  registrations: number
  signalsRelayed: number
  relayFrames: number
  relayBytes: number
  presenceEvents: number
}

/**
 * What a latency histogram times: `signal` and `relay` from the event's arrival to its
 * forwarding (validation and membership checks included: Redis round trips in a cluster),
 * `registration` from the `register` event to its successful ack (signature check and registry
 * write). Refused events are not timed: they are counted by code.
 */
export type LatencyKind = 'signal' | 'relay' | 'registration'

/** The metrics of a signaling server, and their rendering. */
export interface SignalingMetrics {
  readonly counters: Readonly<MetricsCounters>
  /** Refusals by code (every `error` event and failed ack). */
  readonly rejections: ReadonlyMap<SignalingErrorCode, number>
  /** Failed registrations by code. */
  readonly registrationFailures: ReadonlyMap<SignalingErrorCode, number>
  /** This server's prom-client registry: an embedding application may register its own metrics. */
  readonly registry: Registry
  /** Add to a counter. */
  count(counter: keyof MetricsCounters, by?: number): void
  /** Count a refusal. */
  rejected(code: SignalingErrorCode): void
  /** Count a failed registration. */
  registrationFailed(code: SignalingErrorCode): void
  /** Record how long one forwarded event or one registration took, in seconds. */
  observe(kind: LatencyKind, seconds: number): void
  /**
   * Prometheus text format (version 0.0.4): the default process metrics, then this server's.
   * `conclave_signal_registry_up` says whether `gauges` holds the registry's values.
   */
  render(gauges: ScrapeGauges): Promise<string>
}

/** The content type of {@link SignalingMetrics.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE

const PREFIX = 'conclave_signal_'

/** Latency buckets in seconds: 0.5 ms (a local forward) to 2.5 s (a struggling Redis). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

const COUNTER_HELP: Record<keyof MetricsCounters, [name: string, help: string]> = {
  connections: ['connections_total', 'Socket connections accepted.'],
  registrations: ['registrations_total', 'Successful registrations.'],
  signalsRelayed: ['signals_relayed_total', 'Signals forwarded to a party in the same room.'],
  relayFrames: ['relay_frames_total', 'Relay frames forwarded.'],
  relayBytes: ['relay_bytes_total', 'Bytes of relay frames forwarded.'],
  presenceEvents: ['presence_events_total', 'Presence changes (joined / left) announced.'],
}

const GAUGE_HELP: Record<keyof MetricsGauges, [name: string, help: string]> = {
  connectedSockets: ['connected_sockets', 'Sockets connected to this process now.'],
  registeredParties: ['registered_parties', 'Parties registered now (cluster-wide on Redis).'],
  rooms: ['rooms', 'Rooms with at least one party now (cluster-wide on Redis).'],
}

let processRegistry: Registry | undefined

/** The per-process registry of prom-client's default metrics, created on first use. */
function defaultMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/** This package's version, from its package.json (beside `src/` and `dist/` alike). */
function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    return typeof manifest.version === 'string' ? manifest.version : 'unknown'
  } catch {
    return 'unknown'
  }
}

/** Create zeroed metrics with their own prom-client registry. */
export function createMetrics(): SignalingMetrics {
  const counters: MetricsCounters = {
    connections: 0,
    registrations: 0,
    signalsRelayed: 0,
    relayFrames: 0,
    relayBytes: 0,
    presenceEvents: 0,
  }
  const rejections = new Map<SignalingErrorCode, number>()
  const registrationFailures = new Map<SignalingErrorCode, number>()
  const registry = new Registry()
  const registers = [registry]

  // The counters above are the one source: each prom-client counter copies its value at scrape time.
  for (const key of Object.keys(COUNTER_HELP) as (keyof MetricsCounters)[]) {
    const [name, help] = COUNTER_HELP[key]
    new Counter({
      name: PREFIX + name,
      help,
      registers,
      collect() {
        this.reset()
        this.inc(counters[key])
      },
    })
  }
  const byCode = (name: string, help: string, map: ReadonlyMap<string, number>): void => {
    new Counter({
      name: PREFIX + name,
      help,
      labelNames: ['code'],
      registers,
      collect() {
        this.reset()
        for (const [code, n] of map) this.inc({ code }, n)
      },
    })
  }
  byCode('rejections_total', 'Refused events by code.', rejections)
  byCode('registration_failures_total', 'Refused registrations by code.', registrationFailures)

  const gauges = Object.fromEntries(
    (Object.keys(GAUGE_HELP) as (keyof MetricsGauges)[]).map((key) => {
      const [name, help] = GAUGE_HELP[key]
      return [key, new Gauge({ name: PREFIX + name, help, registers })]
    }),
  ) as Record<keyof MetricsGauges, Gauge>
  const registryUp = new Gauge({
    name: `${PREFIX}registry_up`,
    help: 'Whether the registry (Redis in a cluster) answered this scrape: 1 yes, 0 no.',
    registers,
  })
  const forwardSeconds = new Histogram({
    name: `${PREFIX}relay_duration_seconds`,
    help: 'Time from a signal or relay event to its forwarding, in seconds.',
    labelNames: ['event'],
    buckets: LATENCY_BUCKETS,
    registers,
  })
  // Both series from the start, so that rates over them exist before the first event.
  for (const event of ['signal', 'relay']) forwardSeconds.zero({ event })
  const registrationSeconds = new Histogram({
    name: `${PREFIX}registration_duration_seconds`,
    help: 'Time from a register event to its successful ack, in seconds.',
    buckets: LATENCY_BUCKETS,
    registers,
  })
  new Gauge({
    name: `${PREFIX}build_info`,
    help: 'Always 1; the labels say what runs: package version, Node version, signaling protocol versions.',
    labelNames: ['version', 'node_version', 'signaling_versions'],
    registers,
  }).set(
    {
      version: packageVersion(),
      node_version: process.version,
      signaling_versions: SIGNALING_VERSIONS.join(','),
    },
    1,
  )

  return {
    counters,
    rejections,
    registrationFailures,
    registry,
    count(counter, by = 1) {
      counters[counter] += by
    },
    rejected(code) {
      rejections.set(code, (rejections.get(code) ?? 0) + 1)
    },
    registrationFailed(code) {
      registrationFailures.set(code, (registrationFailures.get(code) ?? 0) + 1)
    },
    observe(kind, seconds) {
      if (kind === 'registration') registrationSeconds.observe(seconds)
      else forwardSeconds.observe({ event: kind }, seconds)
    },
    render(scraped) {
      for (const key of Object.keys(gauges) as (keyof MetricsGauges)[]) {
        const value = scraped[key]
        // remove() leaves an unlabelled gauge without a sample: absent, not 0.
        if (value === undefined) gauges[key].remove()
        else gauges[key].set(value)
      }
      registryUp.set(scraped.registeredParties === undefined ? 0 : 1)
      return Registry.merge([defaultMetrics(), registry]).metrics()
    },
  }
}
