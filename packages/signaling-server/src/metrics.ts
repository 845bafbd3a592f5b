/**
 * Server counters and their Prometheus text exposition (`GET /metrics`).
 * @module
 */
import type { SignalingErrorCode } from '@conclave/core'

/** Values read at scrape time rather than counted. */
export interface MetricsGauges {
  connectedSockets: number
  registeredParties: number
  rooms: number
}

/** Counters of one server process (monotonic since start). */
export interface MetricsCounters {
  connections: number
  registrations: number
  signalsRelayed: number
  relayFrames: number
  relayBytes: number
  presenceEvents: number
}

/** The counters of a signaling server, and their rendering. */
export interface SignalingMetrics {
  readonly counters: Readonly<MetricsCounters>
  /** Refusals by code (every `error` event and failed ack). */
  readonly rejections: ReadonlyMap<SignalingErrorCode, number>
  /** Failed registrations by code. */
  readonly registrationFailures: ReadonlyMap<SignalingErrorCode, number>
  /** Add to a counter. */
  count(counter: keyof MetricsCounters, by?: number): void
  /** Count a refusal. */
  rejected(code: SignalingErrorCode): void
  /** Count a failed registration. */
  registrationFailed(code: SignalingErrorCode): void
  /** Prometheus text format (version 0.0.4). */
  render(gauges: MetricsGauges): string
}

/** The content type of {@link SignalingMetrics.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const PREFIX = 'conclave_signal_'

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
  registeredParties: ['registered_parties', 'Parties registered now.'],
  rooms: ['rooms', 'Rooms with at least one party now.'],
}

/** Create zeroed metrics. */
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

  function block(name: string, type: 'counter' | 'gauge', help: string, lines: string[]): string {
    return [`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`, ...lines].join('\n')
  }

  function labelled(name: string, map: ReadonlyMap<string, number>): string[] {
    return [...map]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => `${PREFIX}${name}{code="${code}"} ${n}`)
  }

  return {
    counters,
    rejections,
    registrationFailures,
    count(counter, by = 1) {
      counters[counter] += by
    },
    rejected(code) {
      rejections.set(code, (rejections.get(code) ?? 0) + 1)
    },
    registrationFailed(code) {
      registrationFailures.set(code, (registrationFailures.get(code) ?? 0) + 1)
    },
    render(gauges) {
      const parts: string[] = []
      for (const key of Object.keys(GAUGE_HELP) as (keyof MetricsGauges)[]) {
        const [name, help] = GAUGE_HELP[key]
        parts.push(block(name, 'gauge', help, [`${PREFIX}${name} ${gauges[key]}`]))
      }
      for (const key of Object.keys(COUNTER_HELP) as (keyof MetricsCounters)[]) {
        const [name, help] = COUNTER_HELP[key]
        parts.push(block(name, 'counter', help, [`${PREFIX}${name} ${counters[key]}`]))
      }
      parts.push(
        block(
          'rejections_total',
          'counter',
          'Refused events by code.',
          labelled('rejections_total', rejections),
        ),
      )
      parts.push(
        block(
          'registration_failures_total',
          'counter',
          'Refused registrations by code.',
          labelled('registration_failures_total', registrationFailures),
        ),
      )
      return `${parts.join('\n')}\n`
    },
  }
}
