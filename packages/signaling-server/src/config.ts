/**
 * Limits and options of the signaling server, and how they are read from command-line flags
 * and environment variables (flags win over the environment, which wins over the defaults).
 * @module
 */
import { parseArgs } from 'node:util'
import { ConclaveError } from '@conclave/core'
import type { LogLevel } from './log.ts'

/** Everything the server can be configured with. */
export interface SignalingServerConfig {
  /** Interface to listen on. @default '127.0.0.1' */
  host: string
  /** TCP port; 0 picks a free one. @default 8787 */
  port: number
  /**
   * Public origin named in every challenge, e.g. `https://signal.example.org` behind a proxy.
   * Clients sign it and refuse a challenge naming another origin than the URL they dialled.
   * @default `http://<host>:<port>` with the bound port
   */
  origin: string | undefined
  /** Largest relay frame and largest JSON-encoded `signal` data, in bytes. @default 65536 */
  maxPayloadBytes: number
  /**
   * Allowance for the envelope around a payload (room, addressee, socket.io framing). A single
   * packet over `maxPayloadBytes + payloadOverheadBytes` is cut by the transport itself.
   * @default 4096
   */
  payloadOverheadBytes: number
  /** Sustained events per second per socket (token bucket refill rate). @default 100 */
  eventsPerSecond: number
  /** Token bucket size: events a socket may send in a burst. @default 2 × eventsPerSecond */
  eventBurst: number
  /** Sustained relay bytes per second per socket. @default 4194304 (4 MiB/s) */
  relayBytesPerSecond: number
  /** Rooms one socket may be in at once. @default 16 */
  roomsPerSocket: number
  /** Parties one room may hold. @default 128 */
  partiesPerRoom: number
  /** A registered socket that sends nothing (not even a heartbeat) for this long is cut. @default 60000 */
  heartbeatTimeoutMs: number
  /** A socket that has not registered this long after connecting is cut. @default 10000 */
  registrationTimeoutMs: number
  /** Failed registrations a socket may make before it is cut. @default 3 */
  maxRegistrationAttempts: number
  /**
   * Violations (refused events: over rate, over size, malformed, unregistered, unknown) a socket
   * may commit per `violationWindowMs` before it is cut with `ABUSE`. @default 20
   */
  maxViolations: number
  /** @default 10000 */
  violationWindowMs: number
  /** @default 'info' */
  logLevel: LogLevel
  /**
   * Redis URL (`redis://` or `rediss://`). When set, this instance is one of a cluster: the
   * socket.io Redis adapter delivers to parties on other instances, and the registry lives in
   * Redis. Read from `REDIS_URL`. @default undefined: one process, everything in memory
   */
  redisUrl: string | undefined
  /** Prefix of the Redis keys and channels (one per network sharing a Redis). @default 'conclave' */
  redisPrefix: string
  /**
   * Time to live of a registration in Redis: the instance holding it refreshes it every third of
   * this; when the instance dies, its registrations are gone this long after. @default 30000
   */
  registryTtlMs: number
  /**
   * Operator token that `GET /registry/nodes` requires (`Authorization: Bearer <token>`), at
   * least 16 printable characters. Read from `CONCLAVE_SIGNAL_REGISTRY_TOKEN` (better than the
   * flag: a command line is visible to other users in `ps`).
   * @default undefined: the listing is off (403 `REGISTRY_LISTING_OFF`)
   */
  registryToken: string | undefined
}

/** The defaults (see {@link SignalingServerConfig} for what each one means). */
export const DEFAULT_CONFIG: Readonly<SignalingServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 8787,
  origin: undefined,
  maxPayloadBytes: 64 * 1024,
  payloadOverheadBytes: 4096,
  eventsPerSecond: 100,
  eventBurst: 200,
  relayBytesPerSecond: 4 * 1024 * 1024,
  roomsPerSocket: 16,
  partiesPerRoom: 128,
  heartbeatTimeoutMs: 60_000,
  registrationTimeoutMs: 10_000,
  maxRegistrationAttempts: 3,
  maxViolations: 20,
  violationWindowMs: 10_000,
  logLevel: 'info',
  redisUrl: undefined,
  redisPrefix: 'conclave',
  registryTtlMs: 30_000,
  registryToken: undefined,
})

/** One setting: its flag, its environment variable, and its smallest allowed value. */
interface Setting {
  key: keyof SignalingServerConfig
  flag: string
  env: string
  help: string
  min?: number
  /** Shown in `--help` instead of the default value. */
  shown?: string
}

const SETTINGS: readonly Setting[] = [
  { key: 'host', flag: 'host', env: 'CONCLAVE_SIGNAL_HOST', help: 'interface to listen on' },
  { key: 'port', flag: 'port', env: 'CONCLAVE_SIGNAL_PORT', help: 'TCP port, 0 = any free port', min: 0 },
  {
    key: 'origin',
    flag: 'origin',
    env: 'CONCLAVE_SIGNAL_ORIGIN',
    help: 'public origin named in challenges',
    shown: 'http://<host>:<port>',
  },
  {
    key: 'maxPayloadBytes',
    flag: 'max-payload-bytes',
    env: 'CONCLAVE_SIGNAL_MAX_PAYLOAD_BYTES',
    help: 'largest relay frame / signal data',
    min: 1,
  },
  {
    key: 'payloadOverheadBytes',
    flag: 'payload-overhead-bytes',
    env: 'CONCLAVE_SIGNAL_PAYLOAD_OVERHEAD_BYTES',
    help: 'allowance for framing around a payload',
    min: 256,
  },
  {
    key: 'eventsPerSecond',
    flag: 'events-per-second',
    env: 'CONCLAVE_SIGNAL_EVENTS_PER_SECOND',
    help: 'sustained events per second per socket',
    min: 1,
  },
  {
    key: 'eventBurst',
    flag: 'event-burst',
    env: 'CONCLAVE_SIGNAL_EVENT_BURST',
    help: 'burst of events per socket',
    min: 1,
  },
  {
    key: 'relayBytesPerSecond',
    flag: 'relay-bytes-per-second',
    env: 'CONCLAVE_SIGNAL_RELAY_BYTES_PER_SECOND',
    help: 'sustained relay bytes per second per socket',
    min: 1,
  },
  {
    key: 'roomsPerSocket',
    flag: 'rooms-per-socket',
    env: 'CONCLAVE_SIGNAL_ROOMS_PER_SOCKET',
    help: 'rooms one socket may be in',
    min: 1,
  },
  {
    key: 'partiesPerRoom',
    flag: 'parties-per-room',
    env: 'CONCLAVE_SIGNAL_PARTIES_PER_ROOM',
    help: 'parties one room may hold',
    min: 1,
  },
  {
    key: 'heartbeatTimeoutMs',
    flag: 'heartbeat-timeout-ms',
    env: 'CONCLAVE_SIGNAL_HEARTBEAT_TIMEOUT_MS',
    help: 'cut registered sockets silent this long',
    min: 1000,
  },
  {
    key: 'registrationTimeoutMs',
    flag: 'registration-timeout-ms',
    env: 'CONCLAVE_SIGNAL_REGISTRATION_TIMEOUT_MS',
    help: 'cut sockets not registered this long',
    min: 100,
  },
  {
    key: 'maxRegistrationAttempts',
    flag: 'max-registration-attempts',
    env: 'CONCLAVE_SIGNAL_MAX_REGISTRATION_ATTEMPTS',
    help: 'failed registrations before the cut',
    min: 1,
  },
  {
    key: 'maxViolations',
    flag: 'max-violations',
    env: 'CONCLAVE_SIGNAL_MAX_VIOLATIONS',
    help: 'refused events per window before the cut',
    min: 1,
  },
  {
    key: 'violationWindowMs',
    flag: 'violation-window-ms',
    env: 'CONCLAVE_SIGNAL_VIOLATION_WINDOW_MS',
    help: 'window of --max-violations',
    min: 100,
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'CONCLAVE_SIGNAL_LOG_LEVEL',
    help: 'debug | info | warn | error | silent',
  },
  {
    key: 'redisUrl',
    flag: 'redis-url',
    env: 'REDIS_URL',
    help: 'run as one instance of a cluster on this Redis',
    shown: 'none: one process',
  },
  {
    key: 'redisPrefix',
    flag: 'redis-prefix',
    env: 'CONCLAVE_SIGNAL_REDIS_PREFIX',
    help: 'prefix of Redis keys and channels',
  },
  {
    key: 'registryTtlMs',
    flag: 'registry-ttl-ms',
    env: 'CONCLAVE_SIGNAL_REGISTRY_TTL_MS',
    help: "lifetime in Redis of a dead instance's registrations",
    min: 1000,
  },
  {
    key: 'registryToken',
    flag: 'registry-token',
    env: 'CONCLAVE_SIGNAL_REGISTRY_TOKEN',
    help: 'bearer token of GET /registry/nodes (prefer the variable)',
    shown: 'none: listing off',
  },
]

const LOG_LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error', 'silent'])

/** The `--help` text. */
export const HELP = [
  'Usage: conclave-signal [options]',
  '',
  'Conclave signaling server: registry, presence, signal relay and frame relay on socket.io.',
  'Prints one JSON line {"event":"listening","url":…} on stdout once listening; logs JSON to stderr.',
  '',
  'Options (each also read from its environment variable; flags win):',
  ...SETTINGS.map((s) => {
    const def = s.key === 'eventBurst' ? '2 x rate' : (s.shown ?? String(DEFAULT_CONFIG[s.key]))
    return `  --${s.flag.padEnd(26)} ${s.env.padEnd(44)} ${s.help} (default ${def})`
  }),
  `  --${'help'.padEnd(26)} ${''.padEnd(44)} print this and exit`,
].join('\n')

function parseNumber(setting: Setting, raw: string): number {
  const value = Number(raw)
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < (setting.min ?? 0)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `--${setting.flag} / ${setting.env} expected an integer ≥ ${setting.min ?? 0}, got ${JSON.stringify(raw)}`,
    )
  }
  return value
}

function parseOrigin(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `--origin expected an http(s) origin, got ${JSON.stringify(raw)}`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConclaveError('INVALID_ARGUMENT', `--origin expected http: or https:, got ${url.protocol}`)
  }
  return url.origin
}

function parseRedisUrl(raw: string): void {
  let url: URL | undefined
  try {
    url = new URL(raw)
  } catch {
    url = undefined
  }
  if (url?.protocol !== 'redis:' && url?.protocol !== 'rediss:') {
    // The value may hold a password: name only its scheme.
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `--redis-url / REDIS_URL expected redis://host:port or rediss://host:port, got ${url ? url.protocol : 'no URL'}`,
    )
  }
}

/**
 * Fill in and check a partial configuration (what `createSignalingServer` does with its options).
 * @throws ConclaveError `INVALID_ARGUMENT` naming the setting, what was expected and what came
 */
export function resolveConfig(partial: Partial<SignalingServerConfig> = {}): SignalingServerConfig {
  const config: SignalingServerConfig = { ...DEFAULT_CONFIG, ...stripUndefined(partial) }
  if (partial.eventBurst === undefined) config.eventBurst = Math.max(1, config.eventsPerSecond * 2)
  for (const setting of SETTINGS) {
    const value = config[setting.key]
    if (typeof DEFAULT_CONFIG[setting.key] === 'number') parseNumber(setting, String(value))
  }
  if (typeof config.host !== 'string' || config.host.length === 0) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"host" expected a non-empty string, got ${JSON.stringify(config.host)}`,
    )
  }
  if (config.port > 65535)
    throw new ConclaveError('INVALID_ARGUMENT', `"port" expected at most 65535, got ${config.port}`)
  if (config.origin !== undefined) config.origin = parseOrigin(config.origin)
  if (config.redisUrl !== undefined) parseRedisUrl(config.redisUrl)
  if (typeof config.redisPrefix !== 'string' || !/^[\w.-]{1,64}$/.test(config.redisPrefix)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"redisPrefix" expected 1-64 letters, digits, _ . -, got ${JSON.stringify(config.redisPrefix)}`,
    )
  }
  if (config.registryToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(config.registryToken)) {
    // The value is a secret: say what is wrong with it, never what it is.
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"registryToken" expected 16-256 printable ASCII characters without spaces, got ${config.registryToken.length} characters`,
    )
  }
  if (!LOG_LEVELS.has(config.logLevel)) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"logLevel" expected one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(config.logLevel)}`,
    )
  }
  return config
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** What {@link parseCommandLine} found: either a request for help, or a configuration. */
export type CommandLine = { help: true } | { help: false; config: SignalingServerConfig }

/**
 * Read the configuration from flags (`--port 0`, `--port=0`) and environment variables
 * (`CONCLAVE_SIGNAL_PORT=0`); flags win. See {@link HELP} for the list.
 * @throws ConclaveError `INVALID_ARGUMENT` on an unknown flag or a bad value
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CommandLine {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
      },
    }).values
  } catch (cause) {
    throw new ConclaveError('INVALID_ARGUMENT', (cause as Error).message, {}, { cause })
  }
  if (values.help === true) return { help: true }
  const partial: Partial<Record<keyof SignalingServerConfig, unknown>> = {}
  for (const setting of SETTINGS) {
    const flag = values[setting.flag]
    const raw = typeof flag === 'string' ? flag : env[setting.env]
    if (raw === undefined) continue
    partial[setting.key] = typeof DEFAULT_CONFIG[setting.key] === 'number' ? parseNumber(setting, raw) : raw
  }
  return { help: false, config: resolveConfig(partial as Partial<SignalingServerConfig>) }
}
