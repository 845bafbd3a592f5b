/**
 * Fuzzing the signaling server (fast-check): a real server on 127.0.0.1, raw socket.io clients
 * (one registered in a room, one never registered) that emit every client event, and unknown
 * ones, with arbitrary payloads: near-valid requests with one field wrong, `fc.anything()`,
 * deep nesting, huge strings, binary, wrong types, extra or missing arguments, with and without
 * acks, and floods.
 *
 * Checked after every run: the server still answers `/healthz` and serves a fresh honest client;
 * every refusal is a failed ack or an `error` event whose code is a SignalingErrorCode; the
 * server counted exactly those refusals, by code (and `/metrics` says the same); nothing
 * malformed was forwarded to the peer; a socket is cut with ABUSE once (and only once) it went
 * over its violations or failed registrations; no handler failed.
 *
 * The seed is fixed (override with CONCLAVE_FUZZ_SEED); fast-check prints seed and path on failure.
 */
import {
  isSignalingErrorCode,
  type ServerErrorEvent,
  type SignalingErrorCode,
  validateRelayEvent,
  validateSignalEvent,
} from '@conclave/core/signaling'
import fc from 'fast-check'
import type { Socket } from 'socket.io-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { LogFields, Logger, SignalingServer } from '../src/index.ts'
import {
  cleanup,
  collect,
  connectRaw,
  identity,
  type Party,
  party,
  type RawSocket,
  register,
  request,
  startServer,
  until,
} from './harness.ts'

afterEach(cleanup)

const SEED = Number(process.env.CONCLAVE_FUZZ_SEED ?? 0x00c0ffee)

/** Small limits, so that a run reaches every one of them. */
const CONFIG = {
  maxPayloadBytes: 2048,
  payloadOverheadBytes: 512,
  eventsPerSecond: 40,
  eventBurst: 40,
  relayBytesPerSecond: 8192,
  roomsPerSocket: 3,
  partiesPerRoom: 4,
  maxViolations: 8,
  violationWindowMs: 10_000,
  maxRegistrationAttempts: 3,
}

/** Refusals that count towards ABUSE (the server's `VIOLATIONS`). */
const VIOLATIONS: ReadonlySet<string> = new Set<SignalingErrorCode>([
  'BAD_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'NOT_REGISTERED',
  'BAD_SIGNATURE',
  'VERSION_MISMATCH',
  'ALREADY_REGISTERED',
])

const KNOWN_EVENTS = ['register', 'join', 'leave', 'signal', 'relay', 'heartbeat'] as const
/** Names socket.io-client refuses to emit itself (not a server concern). */
const CLIENT_RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
])

// ── payloads ─────────────────────────────────────────────────────────────────────────────────

/** Placeholders resolved at run time: the peer's and the socket's own PartyId, a stranger's. */
const PEER = '$peer'
const SELF = '$self'
const VALID_REGISTRATION = '$valid-registration'

const hex = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'))

const hugeString = fc.integer({ min: 1500, max: 4000 }).map((n) => 'x'.repeat(n))
/** Nested arrays or objects, deeper than the server's JSON depth limit. */
const deep = fc.tuple(fc.integer({ min: 10, max: 400 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v }
  return v
})
const binary = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(0, 1, 2047, 2048, 2049, 2600).map((n) => new Uint8Array(n)),
  fc.uint8Array({ maxLength: 16 }).map((b) => b.buffer),
  fc.int16Array({ maxLength: 8 }),
)
const anything = fc.anything({
  maxDepth: 4,
  maxKeys: 6,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  key: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'room',
      'to',
      'from',
      'data',
      'frame',
      'partyId',
      'signature',
      'version',
      'label',
      'health',
      'linkId',
      'attempt',
      'kind',
      'payload',
      '_placeholder',
      'num',
    ),
  ),
})
const wild = fc.oneof({ weight: 4, arbitrary: anything }, hugeString, deep, binary)

/** Marks a field to leave out of a near-valid request. */
const MISSING = Symbol('missing')

/**
 * A request that would be accepted (`valid`), but for 0 to 2 of its fields, which take a
 * wrong value (`wrong`, or left out).
 */
function nearValid(
  valid: Record<string, fc.Arbitrary<unknown>>,
  wrong: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(valid)
  return fc
    .tuple(fc.record(valid), fc.record(wrong), fc.subarray(keys, { maxLength: Math.min(2, keys.length) }))
    .map(([v, w, broken]) => {
      const out: Record<string, unknown> = { ...v }
      for (const k of broken) {
        const bad = w[k] ?? MISSING
        if (bad === MISSING) delete out[k]
        else out[k] = bad
      }
      return out
    })
}

const room = fc.constantFrom('room1', 'room2', 'r3', 'r4', 'r5')
const wrongRoom = fc.oneof(
  fc.constantFrom('', 'a b', 'x'.repeat(65), 'ünï', 42, null, ['room1'], { room: 'room1' }, MISSING),
  wild,
)
const wrongTo = fc.oneof(
  fc.constant(SELF),
  hex(32),
  fc.constantFrom('0'.repeat(64), 'A'.repeat(64), '', 7, null, MISSING),
  wild,
)
/** JSON a little over `maxPayloadBytes` once encoded, but well under the transport's cut. */
const overSize = fc.integer({ min: 2050, max: 2400 }).map((n) => 'y'.repeat(n))

const signalData = nearValid(
  {
    linkId: fc.constantFrom('a:b', 'l'),
    attempt: fc.nat(),
    kind: fc.constantFrom('offer', 'answer', 'candidate', 'renegotiate', 'connect-request'),
    payload: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ type: fc.constant('offer'), sdp: fc.string() }),
    ),
  },
  {
    linkId: fc.constantFrom('', 'x'.repeat(257), 7, null, MISSING),
    attempt: fc.constantFrom(-1, 1.5, 2 ** 53, '1', null, MISSING),
    kind: fc.constantFrom('bogus', '', 1, MISSING),
    payload: fc.oneof(overSize, hugeString, deep, wild),
  },
)

/** Near-valid requests (one or two fields wrong), and anything at all. */
const payloadFor = (event: string): fc.Arbitrary<unknown> => {
  switch (event) {
    case 'register':
      return fc.oneof(
        { weight: 1, arbitrary: fc.constant(VALID_REGISTRATION) },
        {
          weight: 6,
          arbitrary: nearValid(
            {
              partyId: fc.constant(SELF),
              // a well-formed signature of nothing: BAD_SIGNATURE unless something else is wrong
              signature: hex(64),
              version: fc.constant(1),
              label: fc.string({ maxLength: 64 }),
            },
            {
              partyId: fc.oneof(fc.constantFrom(PEER, '', '0'.repeat(64), 1), hex(32), wild),
              signature: fc.oneof(hex(63), fc.constantFrom('', 'zz'.repeat(64), 'AB'.repeat(64)), wild),
              version: fc.oneof(fc.constantFrom(2, 0, -1, 1.5, '1', null, MISSING), wild),
              label: fc.oneof(fc.constant('y'.repeat(65)), wild),
            },
          ),
        },
        { weight: 2, arbitrary: wild },
      )
    case 'join':
    case 'leave':
      return fc.oneof(
        { weight: 6, arbitrary: nearValid({ room }, { room: wrongRoom }) },
        { weight: 2, arbitrary: wild },
      )
    case 'signal':
      return fc.oneof(
        {
          weight: 6,
          arbitrary: nearValid(
            // a forged `from` rides along: the server must stamp its own
            { room, to: fc.constant(PEER), data: signalData, from: fc.constant(PEER) },
            { room: wrongRoom, to: wrongTo, data: fc.oneof(wild, fc.constant(MISSING)) },
          ),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            room,
            to: fc.constant(PEER),
            data: fc.record({
              linkId: fc.constant('l'),
              attempt: fc.nat(),
              kind: fc.constant('offer'),
              payload: overSize,
            }),
          }),
        },
        { weight: 2, arbitrary: wild },
      )
    case 'relay':
      return fc.oneof(
        {
          weight: 6,
          arbitrary: nearValid(
            { room, to: fc.constant(PEER), frame: fc.uint8Array({ minLength: 1, maxLength: 64 }) },
            {
              room: wrongRoom,
              to: wrongTo,
              frame: fc.oneof(binary, wild),
            },
          ),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            room,
            to: fc.constant(PEER),
            frame: fc.integer({ min: 2049, max: 2300 }).map((n) => new Uint8Array(n)),
          }),
        },
        { weight: 2, arbitrary: wild },
      )
    case 'heartbeat':
      return fc.oneof(
        fc.constantFrom(undefined, {}, { health: 0 }, { health: 1 }, { health: 0.5 }),
        fc.record({ health: fc.oneof(fc.double(), fc.constantFrom(-1, 2, '0.5', null)) }),
        wild,
      )
    default:
      return wild
  }
}

const unknownEvent = fc.oneof(
  fc.constantFrom(
    'hello',
    'error',
    'challenge',
    'presence',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'REGISTER',
    'register ',
    '',
    'x'.repeat(300),
  ),
  fc.string({ maxLength: 20 }).filter((s) => !CLIENT_RESERVED.has(s)),
)

type Who = 'registered' | 'unregistered'
type Command =
  | { k: 'emit'; who: Who; event: string; args: unknown[]; ack: boolean }
  | { k: 'flood'; who: Who; n: number }

const emitArb: fc.Arbitrary<Command> = fc
  .tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...KNOWN_EVENTS) },
      { weight: 2, arbitrary: unknownEvent },
    ),
    fc.boolean(),
    fc.integer({ min: 0, max: 9 }),
  )
  .chain(([dice, event, ack, shape]) => {
    // registrations mostly from the unregistered socket, everything else mostly from the other
    const who: Who = (event === 'register') === dice > 0 ? 'unregistered' : 'registered'
    // mostly one argument; sometimes none, or extra ones
    const args: fc.Arbitrary<unknown[]> =
      shape === 0
        ? fc.constant([])
        : shape === 1
          ? fc.tuple(payloadFor(event), wild)
          : fc.tuple(payloadFor(event))
    return args.map((a): Command => ({ k: 'emit', who, event, args: [...a], ack }))
  })

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 30, arbitrary: emitArb },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('flood' as const),
      who: fc.constantFrom<Who>('registered', 'unregistered'),
      n: fc.integer({ min: 20, max: 60 }),
    }),
  },
)

/** Replace the placeholders in a payload (a copy; everything else is left as generated). */
function resolve(value: unknown, ids: { peer: string; self: string }, seen = new Set<unknown>()): unknown {
  if (value === PEER) return ids.peer
  if (value === SELF) return ids.self
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value))
    return value
  if (value instanceof ArrayBuffer) return value
  seen.add(value)
  if (Array.isArray(value)) return value.map((v) => resolve(v, ids, seen))
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value
  const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {}
  for (const [k, v] of Object.entries(value))
    Object.defineProperty(out, k, {
      value: resolve(v, ids, seen),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  return out
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────

/** A fuzzing socket and everything it was told. */
interface Fuzzer {
  who: Who
  raw: RawSocket
  /** The socket's id (the same on both ends). */
  id: string
  selfId: string
  /** Refusals told through acks and `error` events: code and the event they answer. */
  refusals: { code: string; event: string | undefined }[]
  /** Acks that never came (the socket was disconnected first, or a handler never answered). */
  lostAcks: { event: string; error: string }[]
  disconnect: string | undefined
  emitted: number
}

/** What the server's structured log says it refused (`refused`) or cut (`cut`), per socket. */
interface Logged {
  socketId: string
  code: string
  event: string | undefined
}

/**
 * A logger that keeps the server's own record of every refusal, per socket, and its errors (a
 * handler that threw answers nobody).
 */
function capturingLogger(): Logger & {
  errors: { event: string; fields: LogFields | undefined }[]
  refusals: Logged[]
} {
  const errors: { event: string; fields: LogFields | undefined }[] = []
  const refusals: Logged[] = []
  const keep = (fields: LogFields | undefined): void => {
    refusals.push({
      socketId: String(fields?.socketId),
      code: String(fields?.code),
      event: typeof fields?.event === 'string' ? fields.event : undefined,
    })
  }
  return {
    errors,
    refusals,
    debug: (event, fields) => {
      if (event === 'refused') keep(fields)
    },
    info: (event, fields) => {
      if (event === 'cut') keep(fields)
    },
    warn: () => undefined,
    error: (event, fields) => errors.push({ event, fields }),
  }
}

const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)

function delta(after: ReadonlyMap<string, number>, before: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) !== 0) out.set(k, v - (before.get(k) ?? 0))
  return out
}

function tally(items: readonly { code: string }[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const { code } of items) out.set(code, (out.get(code) ?? 0) + 1)
  return out
}

/** `conclave_signal_rejections_total{code="…"} n` lines of `/metrics`. */
async function scrapeRejections(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const out = new Map<string, number>()
  for (const m of text.matchAll(/^conclave_signal_rejections_total\{code="([A-Z_]+)"\} (\d+)$/gm))
    out.set(m[1]!, Number(m[2]))
  return out
}

async function fuzzer(url: string, who: Who, room: string): Promise<Fuzzer> {
  let raw: RawSocket
  let selfId: string
  if (who === 'registered') {
    const p: Party = await party(url, room)
    raw = p
    selfId = p.id.partyId
  } else {
    raw = await connectRaw(url)
    selfId = (await identity()).partyId
  }
  const f: Fuzzer = {
    who,
    raw,
    id: raw.socket.id ?? '',
    selfId,
    refusals: [],
    lostAcks: [],
    disconnect: undefined,
    emitted: 0,
  }
  raw.socket.on('error', (e: ServerErrorEvent) => f.refusals.push({ code: e?.code, event: e?.event }))
  raw.socket.on('disconnect', (reason: string) => {
    f.disconnect = reason
  })
  return f
}

/** Emit one command; the returned promise settles when its ack (if any) is in. */
async function run(cmd: Command, f: Fuzzer, ids: { peer: string }): Promise<void> {
  const socket: Socket = f.raw.socket
  if (!socket.connected) return
  if (cmd.k === 'flood') {
    for (let i = 0; i < cmd.n && socket.connected; i++) socket.emit('heartbeat', {})
    f.emitted += cmd.n
    return
  }
  const args = cmd.args.map((a) => resolve(a, { peer: ids.peer, self: f.selfId }))
  if (cmd.event === 'register' && args[0] === VALID_REGISTRATION) {
    // a genuine registration (of a fresh identity) in the middle of the noise
    const ack = await register(f.raw, await identity()).catch((e: unknown) => ({
      ok: false,
      code: String(e),
    }))
    f.emitted++
    if (ack.ok === false) {
      if (isSignalingErrorCode(ack.code)) f.refusals.push({ code: ack.code, event: 'register' })
      else f.lostAcks.push({ event: 'register', error: String(ack.code) })
    }
    return
  }
  f.emitted++
  if (!cmd.ack) {
    socket.emit(cmd.event, ...args)
    return
  }
  // `relay` has no ack in the protocol: the handler answers a refusal with an `error` event and
  // success with nothing (only the guard's refusals, before the handler, use an ack it was given)
  const noAck = cmd.event === 'relay'
  await new Promise<void>((resolveAck) => {
    socket.timeout(noAck ? 300 : 3000).emit(cmd.event, ...args, (err: Error | null, res: unknown) => {
      if (err) {
        if (!(noAck && socket.connected)) f.lostAcks.push({ event: cmd.event, error: err.message })
      } else {
        const r = res as { ok?: unknown; code?: unknown; message?: unknown } | null
        if (r?.ok === true) {
          // fine
        } else if (r?.ok === false && isSignalingErrorCode(r.code) && typeof r.message === 'string') {
          f.refusals.push({ code: r.code, event: cmd.event.slice(0, 64) })
        } else {
          f.refusals.push({ code: `MALFORMED_ACK ${JSON.stringify(res)}`, event: cmd.event })
        }
      }
      resolveAck()
    })
  })
}

interface Ctx {
  url: string
  server: SignalingServer
  totals: Map<string, number>
  stats: { runs: number; events: number; cuts: number; untold: number }
  log: ReturnType<typeof capturingLogger>
}

/** Violations the server counts against registration attempts. */
const failedRegistration = (r: { code: string; event: string | undefined }): boolean =>
  r.event === 'register' &&
  (r.code === 'BAD_PAYLOAD' || r.code === 'BAD_SIGNATURE' || r.code === 'VERSION_MISMATCH')

/** One run: fresh sockets, the commands, then every check. Sockets are closed whatever happens. */
async function fuzzRun(ctx: Ctx, commands: Command[]): Promise<void> {
  const { url, server } = ctx
  const opened: Socket[] = []
  try {
    ctx.stats.runs++
    const started = Date.now()
    const before = new Map(server.metrics.rejections)
    const logStart = ctx.log.refusals.length
    const regBefore = new Map(server.metrics.registrationFailures)
    // the honest peer everything is addressed to, and the two fuzzing sockets
    const peer = await party(url, 'room1')
    opened.push(peer.socket)
    const signals = collect<unknown>(peer.socket, 'signal')
    const relays = collect<unknown>(peer.socket, 'relay')
    const registered = await fuzzer(url, 'registered', 'room1')
    opened.push(registered.raw.socket)
    const unregistered = await fuzzer(url, 'unregistered', 'room1')
    opened.push(unregistered.raw.socket)
    const fuzzers = { registered, unregistered }
    const all = [registered, unregistered]

    const pending: Promise<void>[] = []
    for (const cmd of commands) {
      // bursts: most commands go out without waiting for the previous answer
      pending.push(run(cmd, fuzzers[cmd.who], { peer: peer.id.partyId }))
      if (pending.length % 5 === 0) await Promise.all(pending.splice(0))
    }
    await Promise.all(pending)
    ctx.stats.events += all.reduce((n, f) => n + f.emitted, 0)

    // every refusal has a protocol code; an ack is only ever lost to a disconnection
    for (const f of all) {
      for (const r of f.refusals) expect(isSignalingErrorCode(r.code), `refusal code ${r.code}`).toBe(true)
      if (f.lostAcks.length > 0)
        expect(f.disconnect, `lost acks ${JSON.stringify(f.lostAcks)} on a live socket`).toBeDefined()
    }
    // the server counted exactly the refusals it made (its log names the socket of each), and
    // told each socket every one of them, in order; a socket the transport dropped (an oversize
    // packet) may miss the last ones, which were in flight when its connection was torn down
    const dropped = (f: Fuzzer): boolean =>
      f.disconnect === 'transport close' || f.disconnect === 'transport error'
    const loggedFor = (f: Fuzzer): Logged[] =>
      ctx.log.refusals.slice(logStart).filter((r) => r.socketId === f.id)
    await until(
      () => all.every((f) => dropped(f) || f.refusals.length >= loggedFor(f).length),
      3000,
      'every refusal told',
    ).catch(() => undefined)
    await new Promise((r) => setTimeout(r, 50))
    const runLog = ctx.log.refusals.slice(logStart)
    expect(
      runLog.filter((r) => !all.some((f) => f.id === r.socketId)),
      'refusals of honest sockets',
    ).toEqual([])
    expect(delta(server.metrics.rejections, before), 'refusals counted vs made').toEqual(tally(runLog))
    for (const f of all) {
      // as multisets: the client sees acks and `error` events in the server's order, but this
      // test records an ack it awaited (a genuine registration) a microtask later
      const made = loggedFor(f)
        .map((r) => `${r.code} ${r.event}`)
        .sort()
      const told = f.refusals.map((r) => `${r.code} ${r.event}`).sort()
      if (dropped(f)) {
        const left = [...made]
        for (const t of told) {
          const i = left.indexOf(t)
          expect(i, `${f.who}: told ${t}, never made`).toBeGreaterThanOrEqual(0)
          left.splice(i, 1)
        }
        ctx.stats.untold += left.length
      } else expect(told, `${f.who}: refusals told vs made`).toEqual(made)
    }
    const regFailures = runLog.filter(failedRegistration)
    expect(sum(delta(server.metrics.registrationFailures, regBefore))).toBe(regFailures.length)
    for (const [code, n] of tally(runLog)) ctx.totals.set(code, (ctx.totals.get(code) ?? 0) + n)

    // abuse: cut with ABUSE once over the violations or failed registrations, never before, and
    // nothing refused after the cut (in the server's own order of events)
    const slack = Math.ceil(((Date.now() - started) * CONFIG.maxViolations) / CONFIG.violationWindowMs) + 1
    for (const f of all) {
      const made = loggedFor(f)
      const abuse = made.filter((r) => r.code === 'ABUSE').length
      expect(abuse, 'ABUSE at most once').toBeLessThanOrEqual(1)
      const cutAt = made.findIndex((r) => r.code === 'ABUSE')
      const upTo = cutAt === -1 ? made : made.slice(0, cutAt)
      const violations = upTo.filter((r) => VIOLATIONS.has(r.code)).length
      const failedRegs = upTo.filter(failedRegistration).length
      if (abuse > 0) {
        ctx.stats.cuts++
        expect(
          violations > CONFIG.maxViolations || failedRegs >= CONFIG.maxRegistrationAttempts,
          `cut after ${violations} violations and ${failedRegs} failed registrations`,
        ).toBe(true)
        expect(made.slice(cutAt + 1), 'refused after the cut').toEqual([])
        await until(() => f.disconnect !== undefined, 3000, 'the abuser is disconnected')
        // told why, unless its own oversize packet tore the transport down first
        if (!dropped(f)) {
          expect(f.disconnect).toBe('io server disconnect')
          expect(f.refusals.map((r) => r.code)).toContain('ABUSE')
        }
      } else if (violations > CONFIG.maxViolations + slack || failedRegs >= CONFIG.maxRegistrationAttempts) {
        // over the limits: it must be gone (cut, or dropped by the transport for an oversize packet)
        await until(() => f.disconnect !== undefined, 3000, 'an abuser over its limits is cut')
      }
      if (f.disconnect !== undefined && abuse === 0) {
        // the only other way out: socket.io itself dropping an oversize or malformed packet
        expect(['transport close', 'transport error']).toContain(f.disconnect)
      }
    }

    // nothing malformed reached the peer, and nothing from the unregistered socket
    for (const s of signals) {
      const v = validateSignalEvent(s, CONFIG.maxPayloadBytes)
      expect(v.ok, `forwarded signal ${JSON.stringify(s).slice(0, 200)}`).toBe(true)
      if (v.ok) expect(v.value.from).toBe(registered.selfId)
    }
    for (const r of relays) {
      const v = validateRelayEvent(r, CONFIG.maxPayloadBytes)
      expect(v.ok).toBe(true)
      if (v.ok) expect(v.value.from).toBe(registered.selfId)
    }

    // the server still serves: health, and a fresh honest client registers, joins, signals
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })
    const honest = await party(url, 'room2')
    opened.push(honest.socket)
    expect(await request(peer.socket, 'join', { room: 'room2' })).toMatchObject({ ok: true })
    const got = new Promise((r) => peer.socket.once('signal', r))
    const data = { linkId: 'l', attempt: 0, kind: 'connect-request' }
    expect(await request(honest.socket, 'signal', { room: 'room2', to: peer.id.partyId, data })).toEqual({
      ok: true,
    })
    expect(await got).toEqual({ room: 'room2', from: honest.id.partyId, data })
  } finally {
    for (const s of opened) s.disconnect()
    // the next run starts from an empty registry (rooms hold at most CONFIG.partiesPerRoom)
    await until(async () => (await server.registry.stats()).parties === 0, 3000, 'the registry empties')
  }
}

describe('fuzz: the signaling server under hostile clients', () => {
  it('refuses every malformed event with a counted code, cuts abusers, and keeps serving', async () => {
    const log = capturingLogger()
    const { url, server } = await startServer({ ...CONFIG, logger: log })
    const ctx: Ctx = {
      url,
      server,
      log,
      totals: new Map(),
      stats: { runs: 0, events: 0, cuts: 0, untold: 0 },
    }
    const scrapedBefore = await scrapeRejections(url)
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 5, maxLength: 30 }), (commands) =>
        fuzzRun(ctx, commands),
      ),
      { seed: SEED + 300, numRuns: 40, plugins: [fc.interruptAfterTimeLimit(45_000)] },
    )
    // no handler threw (a thrown handler answers nobody)
    expect(log.errors).toEqual([])
    // /metrics says what the counters say, and went up
    const scraped = await scrapeRejections(url)
    expect(scraped).toEqual(new Map(server.metrics.rejections))
    expect(sum(scraped)).toBeGreaterThan(sum(scrapedBefore))
    const { runs, events, cuts, untold } = ctx.stats
    console.info(
      `[fuzz] signaling: ${runs} runs, ${events} events, ${cuts} sockets cut (ABUSE), ${untold} refusals lost with a dropped transport, seed ${SEED + 300}:`,
      Object.fromEntries([...ctx.totals].sort()),
    )
    // the fuzzer reached the refusals that matter
    for (const code of ['BAD_PAYLOAD', 'NOT_REGISTERED', 'BAD_SIGNATURE', 'PAYLOAD_TOO_LARGE', 'ABUSE'])
      expect(ctx.totals.get(code) ?? 0, code).toBeGreaterThan(0)
    await server.stop()
    expect(server.connections).toBe(0)
  }, 60_000)
})
