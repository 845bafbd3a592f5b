/**
 * Command-line parsing of `conclave-party` (node:util parseArgs), with the help text.
 * @module
 */
import { parseArgs } from 'node:util'
import { ConclaveError, checkIceServers, TURN_REST_MAX_TTL_SECONDS } from '@conclave/core'

/**
 * The options of `run` that an environment variable may give too (a flag wins over its
 * variable): for containers and service managers, and for what should not be in argv
 * (`CONCLAVE_ICE_SERVERS` credentials, `CONCLAVE_TURN_SECRET`, `CONCLAVE_INPUT`), which other
 * users see in `ps`.
 */
export const ENVIRONMENT: Readonly<Record<string, string>> = {
  signal: 'CONCLAVE_SIGNAL',
  room: 'CONCLAVE_ROOM',
  key: 'CONCLAVE_KEY',
  roster: 'CONCLAVE_ROSTER',
  protocol: 'CONCLAVE_PROTOCOL',
  input: 'CONCLAVE_INPUT',
  parties: 'CONCLAVE_PARTIES',
  threshold: 'CONCLAVE_THRESHOLD',
  share: 'CONCLAVE_SHARE',
  message: 'CONCLAVE_MESSAGE',
  'round-timeout': 'CONCLAVE_ROUND_TIMEOUT',
  timeout: 'CONCLAVE_TIMEOUT',
  'ice-servers': 'CONCLAVE_ICE_SERVERS',
  'ice-servers-file': 'CONCLAVE_ICE_SERVERS_FILE',
  'turn-url': 'CONCLAVE_TURN_URL',
  'turn-secret': 'CONCLAVE_TURN_SECRET',
  'turn-ttl': 'CONCLAVE_TURN_TTL',
  transport: 'CONCLAVE_TRANSPORT',
  label: 'CONCLAVE_LABEL',
  outbox: 'CONCLAVE_OUTBOX',
  state: 'CONCLAVE_STATE',
}

/** The `--help` text. */
export const HELP = `conclave-party: a headless Conclave party on @roamhq/wrtc

Usage:
  conclave-party keygen --out FILE [--label TEXT] [--force]
  conclave-party run --signal URL --room NAME --key FILE [options]

keygen
  --out FILE          where to write the identity (created with mode 0600; refuses to overwrite)
  --label TEXT        a display label stored with the key (metadata only)
  --force             overwrite FILE if it exists

run
  --signal URL[,URL…] signaling server, e.g. http://127.0.0.1:8787; several (instances of a
                      cluster) are tried in turn when the current one is unreachable
  --room NAME         room to join (1-64 chars: letters, digits, . _ -)
  --key FILE          identity file written by keygen
  --roster FILE       roster JSON: only the parties listed are accepted (default: open mode)
  --protocol NAME     run a protocol, then exit: secure-sum, frost-dkg, frost-sign
  --input N           this party's private input (secure-sum), an integer
  --threshold T       frost-dkg: signatures need T of the N parties (2 ≤ T ≤ N)
  --share FILE        frost-dkg: where to write this party's key share (mode 0600);
                      frost-sign: the key share to sign with
  --message HEX       frost-sign: the message to sign, hex
  --parties N         how many parties (this one included) the session has; the smallest
                      PartyId present proposes it. A proposal is joined only if it has N
                      participants, all on --roster (if given), and the params of this
                      party's flags (FROST: threshold; group key and message); others are
                      declined (a "declined" event with a code)
  --follow            never propose: join every proposal of --protocol that names this
                      party (from a tab or any other party) with --input; instead of --parties
                      (with --parties too, only proposals of N participants; without it, a
                      secure-sum or frost-sign proposal of any size; frost-dkg always needs
                      --parties, the size of the key's group)
  --serve             like --follow, but keep serving proposals one after another until
                      SIGINT/SIGTERM (the demo's headless parties)
  --round-timeout MS  timeout of each protocol round (default 30000)
  --timeout MS        give up on the whole run after MS (default 120000)
  --ice-servers JSON  ICE servers, e.g. '[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]'
                      (also CONCLAVE_ICE_SERVERS, better for credentials: argv is visible to
                      other users in ps; default: none)
  --ice-servers-file FILE
                      ICE servers as in --ice-servers, read from FILE again for every
                      connection attempt (replace it atomically, by a rename, to rotate
                      credentials); instead of --ice-servers
  --turn-url URL[,URL…]
                      a TURN server (turn: or turns: URLs) whose credentials this party mints
                      itself, fresh for every connection attempt (coturn use-auth-secret; added
                      to the ICE servers above, if any); needs --turn-secret
  --turn-secret SECRET
                      coturn's static-auth-secret for --turn-url (better CONCLAVE_TURN_SECRET:
                      argv is visible to other users in ps)
  --turn-ttl S        how long each minted credential is valid, in seconds (default 3600,
                      at most ${TURN_REST_MAX_TTL_SECONDS})
  --ice-relay-only    only use TURN relays (iceTransportPolicy 'relay')
  --transport MODE    webrtc (default), relay (frames through the signaling server, still
                      end-to-end encrypted), or hybrid (webrtc, relay while no direct link)
  --loopback-only     keep only loopback ICE candidates (tests)
  --label TEXT        display label (default: the key file's)
  --in-thread         run the session host on the main thread (default: a worker_threads Worker)
  --outbox FILE       outbox store (created with mode 0600): restarted with the same key and
                      FILE, the party keeps its epoch and resumes its delivery streams and open
                      sessions (nothing lost, nothing twice); runs the host in-thread
  --state DIR         state directory (created with mode 0700; default: KEY.state next to
                      the key file): the spent session grants (grants.jsonl) survive a
                      restart, so a granted proposal runs once, and so do the ids of the
                      sessions run (sessions.txt): a restarted party runs none again
  --json              print one JSON object per line (ready, peer, proposal, result, error)
  --help              this text

Environment (run; a flag wins over its variable):
${Object.entries(ENVIRONMENT)
  .map(([flag, name]) => `  ${name.padEnd(27)}--${flag}`)
  .join('\n')}

Exit status: 0 when the protocol succeeded (or on SIGINT/SIGTERM without a protocol),
1 when it failed, 2 on bad usage.`

/** Parsed `keygen` options. */
export interface KeygenArgs {
  command: 'keygen'
  out: string
  label?: string
  force: boolean
}

/** Parsed `run` options. */
export interface RunArgs {
  command: 'run'
  /** The first signaling server. */
  signal: string
  /** The other signaling servers of `--signal URL,URL…`, tried in turn after `signal`. */
  signalUrls: string[]
  room: string
  key: string
  roster?: string
  protocol?: 'secure-sum' | 'frost-dkg' | 'frost-sign'
  input?: bigint
  threshold?: number
  share?: string
  message?: Uint8Array
  parties?: number
  follow: boolean
  serve: boolean
  roundTimeoutMs: number
  timeoutMs: number
  /** `--ice-servers`: a fixed list ([] when none, or with `iceServersFile`). */
  iceServers: RTCIceServer[]
  /** `--ice-servers-file FILE`: the list, read again for every connection attempt. */
  iceServersFile?: string
  /** `--turn-url` and `--turn-secret`: a TURN server whose credentials are minted per attempt. */
  turn?: TurnArgs
  iceRelayOnly: boolean
  transport: 'webrtc' | 'relay' | 'hybrid'
  loopbackOnly: boolean
  label?: string
  json: boolean
  inThread: boolean
  /** `--outbox FILE`: the outbox store. */
  outbox?: string
  /** `--state DIR`: the state directory. @default `${key}.state` */
  state: string
}

/** A TURN server whose time-limited credentials the party mints itself (TURN REST, coturn). */
export interface TurnArgs {
  urls: string[]
  secret: string
  /** `--turn-ttl`. @default 3600 */
  ttlSeconds: number
}

export type Args = KeygenArgs | RunArgs | { command: 'help' }

/** A usage error (exit status 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  readonly code = 'USAGE'
}

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${name}${ENVIRONMENT[name] ? ` / ${ENVIRONMENT[name]}` : ''} expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
    )
  return n
}

/** `--ice-servers JSON`: checked as joinRoom checks it (one rule: core's `checkIceServers`). */
function parseIceServers(text: string | undefined): RTCIceServer[] {
  if (!text) return []
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new UsageError('--ice-servers expected a JSON array of RTCIceServer')
  }
  return usage(() => checkIceServers(value, '--ice-servers'))
}

/** `--turn-url`, `--turn-secret` (never echoed) and `--turn-ttl`: all or none of the first two. */
function parseTurn(
  urlText: string | undefined,
  secret: string | undefined,
  ttlText: string | undefined,
): TurnArgs | undefined {
  if (urlText === undefined && secret === undefined) {
    if (ttlText !== undefined) throw new UsageError('--turn-ttl needs --turn-url and --turn-secret')
    return undefined
  }
  if (urlText === undefined || secret === undefined) {
    throw new UsageError(
      '--turn-url and --turn-secret (or CONCLAVE_TURN_URL, CONCLAVE_TURN_SECRET) go together',
    )
  }
  if (secret === '') throw new UsageError('--turn-secret expected a non-empty secret')
  const urls = urlText.split(',').filter((u) => u !== '')
  if (urls.length === 0 || urls.some((u) => !/^turns?:/.test(u))) {
    throw new UsageError(`--turn-url expected turn: or turns: URLs, got ${JSON.stringify(urlText)}`)
  }
  const ttlSeconds = int('turn-ttl', ttlText, 1, TURN_REST_MAX_TTL_SECONDS) ?? 3600
  return { urls, secret, ttlSeconds }
}

/** `f()`, its ConclaveError (a check of core's) as a usage error. */
function usage<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof ConclaveError) throw new UsageError(e.message)
    throw e
  }
}

function parseTransport(v: string | undefined): 'webrtc' | 'relay' | 'hybrid' {
  if (v === undefined) return 'webrtc'
  if (v === 'webrtc' || v === 'relay' || v === 'hybrid') return v
  throw new UsageError(`--transport expected webrtc, relay or hybrid, got ${JSON.stringify(v)}`)
}

/**
 * Parse argv (without node and the script).
 * @throws UsageError
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Args {
  // `--input -3` is a negative number, not an option: join it as `--input=-3` for parseArgs
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1]
    if (argv[i] === '--input' && next !== undefined && /^-\d+$/.test(next)) {
      args.push(`--input=${next}`)
      i++
    } else args.push(argv[i]!)
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string' },
        label: { type: 'string' },
        force: { type: 'boolean' },
        signal: { type: 'string' },
        room: { type: 'string' },
        key: { type: 'string' },
        roster: { type: 'string' },
        protocol: { type: 'string' },
        input: { type: 'string' },
        parties: { type: 'string' },
        threshold: { type: 'string' },
        share: { type: 'string' },
        message: { type: 'string' },
        follow: { type: 'boolean' },
        serve: { type: 'boolean' },
        'round-timeout': { type: 'string' },
        timeout: { type: 'string' },
        'ice-servers': { type: 'string' },
        'ice-servers-file': { type: 'string' },
        'turn-url': { type: 'string' },
        'turn-secret': { type: 'string' },
        'turn-ttl': { type: 'string' },
        'ice-relay-only': { type: 'boolean' },
        transport: { type: 'string' },
        'loopback-only': { type: 'boolean' },
        json: { type: 'boolean' },
        'in-thread': { type: 'boolean' },
        outbox: { type: 'string' },
        state: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e))
  }
  const v = parsed.values as Record<string, string | boolean | undefined>
  const command = parsed.positionals[0]
  if (v.help || command === 'help' || command === undefined) return { command: 'help' }
  const flag = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined)
  if (command === 'keygen') {
    const out = flag('out')
    if (!out) throw new UsageError('keygen needs --out FILE')
    const label = flag('label')
    return { command, out, force: v.force === true, ...(label !== undefined ? { label } : {}) }
  }
  if (command !== 'run') throw new UsageError(`unknown command ${JSON.stringify(command)} (keygen, run)`)
  /** A `run` option: its flag, else its environment variable (an empty one counts as unset). */
  const str = (k: string): string | undefined => {
    const name = ENVIRONMENT[k]
    return flag(k) ?? (name !== undefined && env[name] ? env[name] : undefined)
  }
  const [signal, ...signalUrls] = (str('signal') ?? '').split(',').filter((u) => u !== '')
  const room = str('room')
  const key = str('key')
  if (!signal || !room || !key) {
    throw new UsageError(
      'run needs --signal URL, --room NAME and --key FILE (or CONCLAVE_SIGNAL, CONCLAVE_ROOM, CONCLAVE_KEY)',
    )
  }
  for (const url of [signal, ...signalUrls]) {
    try {
      new URL(url)
    } catch {
      throw new UsageError(`--signal expected a URL, got ${JSON.stringify(url)}`)
    }
  }
  const protocol = str('protocol')
  if (
    protocol !== undefined &&
    protocol !== 'secure-sum' &&
    protocol !== 'frost-dkg' &&
    protocol !== 'frost-sign'
  ) {
    throw new UsageError(
      `--protocol expected secure-sum, frost-dkg or frost-sign, got ${JSON.stringify(protocol)}`,
    )
  }
  const inputText = str('input')
  let input: bigint | undefined
  if (inputText !== undefined) {
    if (!/^-?\d+$/.test(inputText))
      throw new UsageError(`--input expected an integer, got ${JSON.stringify(inputText)}`)
    input = BigInt(inputText)
  }
  const parties = int('parties', str('parties'), 2, 1024)
  const serve = v.serve === true
  const follow = v.follow === true || serve
  if (protocol === 'secure-sum' && (input === undefined || (parties === undefined && !follow))) {
    throw new UsageError(`--protocol ${protocol} needs --input N and --parties N (or --follow)`)
  }
  const threshold = int('threshold', str('threshold'), 2, 1024)
  const share = str('share')
  const messageHex = str('message')
  let message: Uint8Array | undefined
  if (protocol === 'frost-dkg') {
    // --parties even with --follow: the group's size is part of the key, so a follower that
    // joined a DKG of any size would let a stranger choose the group (e.g. a 2-of-2 with itself)
    if (parties === undefined || threshold === undefined || !share) {
      throw new UsageError(
        '--protocol frost-dkg needs --parties N (with --follow too: the size of the group), --threshold T and --share FILE',
      )
    }
    if (parties !== undefined && threshold > parties)
      throw new UsageError(`--threshold ${threshold} is more than --parties ${parties}`)
  }
  if (protocol === 'frost-sign') {
    if ((parties === undefined && !follow) || !share || messageHex === undefined) {
      throw new UsageError(
        '--protocol frost-sign needs --parties N (or --follow), --share FILE and --message HEX',
      )
    }
    if (!/^([0-9a-fA-F]{2})*$/.test(messageHex)) throw new UsageError('--message expected hex bytes')
    message = Uint8Array.from(Buffer.from(messageHex, 'hex'))
  }
  if ((protocol === 'frost-dkg' || protocol === 'frost-sign') && serve) {
    throw new UsageError(`--serve is for secure-sum; ${protocol} runs once (use --follow)`)
  }
  if (follow && !protocol) throw new UsageError('--follow needs --protocol')
  const iceServers = parseIceServers(str('ice-servers'))
  const iceServersFile = str('ice-servers-file')
  if (iceServersFile !== undefined && iceServers.length > 0) {
    throw new UsageError('--ice-servers and --ice-servers-file are one or the other')
  }
  const turn = parseTurn(str('turn-url'), str('turn-secret'), str('turn-ttl'))
  const roster = str('roster')
  const label = str('label')
  const outbox = str('outbox')
  return {
    command,
    signal,
    signalUrls,
    room,
    key,
    ...(roster !== undefined ? { roster } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(share !== undefined ? { share } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(parties !== undefined ? { parties } : {}),
    follow,
    serve,
    roundTimeoutMs: int('round-timeout', str('round-timeout'), 100, 3_600_000) ?? 30_000,
    timeoutMs: int('timeout', str('timeout'), 1000, 86_400_000) ?? 120_000,
    iceServers,
    ...(iceServersFile !== undefined ? { iceServersFile } : {}),
    ...(turn ? { turn } : {}),
    iceRelayOnly: v['ice-relay-only'] === true,
    transport: parseTransport(str('transport')),
    loopbackOnly: v['loopback-only'] === true,
    ...(label !== undefined ? { label } : {}),
    json: v.json === true,
    inThread: v['in-thread'] === true,
    ...(outbox !== undefined ? { outbox } : {}),
    state: str('state') ?? `${key}.state`,
  }
}
