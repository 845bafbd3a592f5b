/**
 * Benchmark child: load on the signaling server from a second process. It registers many
 * parties (one socket.io connection and one identity each, through core's signaling client),
 * pairs some of them in rooms, and sends bounded bursts of `signal` messages between the pairs.
 *
 * Protocol: JSON lines. Commands on stdin `{ "cmd": … }`, reports on stdout `{ "ev": … }`.
 *
 * - `register { url, n, maxMs }` → `registered { ok, failed, ms, errors }`
 * - `pair { pairs, maxMs }` → `paired { ok, ms }` (party 2i and 2i+1 join room `bench-sig-i`)
 * - `burst { perSender, maxMs }` → `burst { sent, acked, received, refused, ms }`: every pair's
 *   first party sends `perSender` signals to the second at once (no more than the server's
 *   per-socket burst allowance, so nothing is refused for rate); `ms` runs from the first send
 *   to the last signal received
 * - `stop` → every client stops → `stopped`
 * - `exit`
 *
 * Bounded: the number of parties and signals is given, every wait has a time limit.
 * @module
 */
import { createNodeCrypto } from '@conclave/core/node'
import { createSignalingClient, type SignalData, type SignalingClient } from '@conclave/core/signaling'
import { type Command, emit, now, num, serveCommands } from './child-io.ts'

const crypto = createNodeCrypto()

interface Client {
  id: string
  client: SignalingClient
  room?: string
}

const clients: Client[] = []
let received = 0
let onReceived: (() => void) | undefined

/** Resolve `p`, or undefined after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms)
    }),
  ])
}

function countErrors(errors: Map<string, number>, e: unknown): void {
  const code = (e as { code?: string })?.code ?? (e instanceof Error ? e.message : String(e))
  errors.set(code, (errors.get(code) ?? 0) + 1)
}

async function register(c: Command): Promise<void> {
  const url = String(c.url)
  const n = num(c, 'n')
  const maxMs = num(c, 'maxMs', 60_000)
  const errors = new Map<string, number>()
  // identities first: key generation is not what is measured
  const keys = await Promise.all(Array.from({ length: n }, () => crypto.ed25519.generate()))
  const t0 = now()
  const starts: Promise<boolean>[] = []
  for (const key of keys) {
    const client = createSignalingClient({
      url,
      publicKey: key.publicKey,
      sign: (b) => crypto.ed25519.sign(key, b),
      ackTimeoutMs: maxMs,
    })
    const entry: Client = { id: client.partyId, client }
    client.on('signal', () => {
      received++
      onReceived?.()
    })
    clients.push(entry)
    starts.push(
      client.start({ signal: AbortSignal.timeout(maxMs) }).then(
        () => true,
        (e: unknown) => {
          countErrors(errors, e)
          return false
        },
      ),
    )
  }
  const results = await Promise.all(starts)
  const ok = results.filter(Boolean).length
  emit('registered', { ok, failed: n - ok, ms: now() - t0, errors: Object.fromEntries(errors) })
}

async function pair(c: Command): Promise<void> {
  const pairs = num(c, 'pairs')
  const maxMs = num(c, 'maxMs', 30_000)
  const errors = new Map<string, number>()
  const t0 = now()
  const joins: Promise<boolean>[] = []
  for (let i = 0; i < pairs && 2 * i + 1 < clients.length; i++) {
    const room = `bench-sig-${i}`
    for (const entry of [clients[2 * i]!, clients[2 * i + 1]!]) {
      entry.room = room
      joins.push(
        entry.client.join(room, { signal: AbortSignal.timeout(maxMs) }).then(
          () => true,
          (e: unknown) => {
            countErrors(errors, e)
            return false
          },
        ),
      )
    }
  }
  const ok = (await Promise.all(joins)).filter(Boolean).length
  emit('paired', { ok, ms: now() - t0, errors: Object.fromEntries(errors) })
}

/** A signal the size and shape of a trickled ICE candidate. */
function candidate(i: number): SignalData {
  return {
    linkId: 'aaaaaaaaaaaaaaaa:bbbbbbbbbbbbbbbb',
    attempt: 1,
    kind: 'candidate',
    payload: {
      candidate: {
        candidate: `candidate:${i} 1 udp 2122260223 127.0.0.1 ${40000 + (i % 20000)} typ host generation 0 ufrag AbCd network-id 1`,
        sdpMLineIndex: 0,
        sdpMid: '0',
      },
    },
  }
}

async function burst(c: Command): Promise<void> {
  const perSender = num(c, 'perSender')
  const maxMs = num(c, 'maxMs', 20_000)
  const senders: [Client, Client][] = []
  for (let i = 0; 2 * i + 1 < clients.length; i++) {
    const a = clients[2 * i]!
    const b = clients[2 * i + 1]!
    if (a.room && a.room === b.room) senders.push([a, b])
  }
  const total = senders.length * perSender
  const errors = new Map<string, number>()
  received = 0
  let acked = 0
  let tLast = Number.NaN
  const all = new Promise<void>((resolve) => {
    onReceived = () => {
      if (received >= total) {
        tLast = now()
        resolve()
      }
    }
  })
  const t0 = now()
  const acks: Promise<void>[] = []
  for (let k = 0; k < perSender; k++) {
    for (const [a, b] of senders) {
      acks.push(
        a.client.signal(a.room!, b.id, candidate(k)).then(
          () => {
            acked++
          },
          (e: unknown) => countErrors(errors, e),
        ),
      )
    }
  }
  const tSent = now()
  await within(all, maxMs)
  await within(Promise.all(acks), Math.max(1, maxMs - (now() - t0)))
  onReceived = undefined
  emit('burst', {
    senders: senders.length,
    sent: total,
    acked,
    received,
    ms: tLast - t0,
    emitMs: tSent - t0,
    timedOut: received < total,
    errors: Object.fromEntries(errors),
  })
}

function stop(): void {
  for (const entry of clients.splice(0)) entry.client.stop()
  emit('stopped')
}

async function handle(c: Command): Promise<void> {
  switch (c.cmd) {
    case 'register':
      return register(c)
    case 'pair':
      return pair(c)
    case 'burst':
      return burst(c)
    case 'stop':
      stop()
      return
    case 'exit':
      stop()
      setTimeout(() => process.exit(0), 50)
      return
    default:
      throw new Error(`unknown command ${String(c.cmd)}`)
  }
}

serveCommands(handle, () => {
  for (const entry of clients.splice(0)) entry.client.stop()
  setTimeout(() => process.exit(0), 50)
})
