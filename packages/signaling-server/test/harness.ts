/**
 * Test harness: real servers on 127.0.0.1 port 0, raw socket.io-client sockets speaking the
 * protocol by hand, and noble Ed25519 identities. Everything started here is stopped by
 * {@link cleanup} (call it in `afterEach`).
 */
import { toHex } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import type { ChallengeMessage, ServerErrorEvent } from '@conclave/core/signaling'
import { registrationSignedBytes } from '@conclave/core/wire'
import { io, type Socket } from 'socket.io-client'
import { createSignalingServer, type SignalingServer, type SignalingServerOptions } from '../src/index.ts'

const crypto = createNobleBackend()
const servers = new Set<SignalingServer>()
const sockets = new Set<Socket>()
const cleanups = new Set<() => unknown>()

/** A noble Ed25519 identity. */
export interface TestIdentity {
  publicKey: Uint8Array
  partyId: string
  sign(bytes: Uint8Array): Promise<Uint8Array>
}

/** A fresh identity from core's noble backend. */
export async function identity(): Promise<TestIdentity> {
  const key = await crypto.ed25519.generate({ extractable: true })
  return {
    publicKey: key.publicKey,
    partyId: toHex(key.publicKey),
    sign: (bytes) => crypto.ed25519.sign(key, bytes),
  }
}

/** Start a server on 127.0.0.1:0 (silent logs unless given). */
export async function startServer(options: SignalingServerOptions = {}) {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options })
  servers.add(server)
  const address = await server.start()
  return { server, ...address }
}

/** Register something to run in {@link cleanup}. */
export function onCleanup(fn: () => unknown): void {
  cleanups.add(fn)
}

/** A raw socket connected to `url`, with the challenge it got. */
export interface RawSocket {
  socket: Socket
  challenge: ChallengeMessage
  /** Every `error` event received so far. */
  errors: ServerErrorEvent[]
}

/** Connect a raw socket (no reconnection) and wait for its challenge. */
export async function connectRaw(url: string): Promise<RawSocket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  sockets.add(socket)
  const errors: ServerErrorEvent[] = []
  socket.on('error', (e: ServerErrorEvent) => errors.push(e))
  const challenge = await once<ChallengeMessage>(socket, 'challenge')
  return { socket, challenge, errors }
}

/** Resolve with the next `event` on `socket` (reject after `ms`). */
export function once<T = unknown>(socket: Socket, event: string, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on)
      reject(new Error(`no "${event}" within ${ms} ms`))
    }, ms)
    const on = (value: T): void => {
      clearTimeout(timer)
      socket.off(event, on)
      resolve(value)
    }
    socket.on(event, on)
  })
}

/** Collect every `event` on `socket` into an array. */
export function collect<T = unknown>(socket: Socket, event: string): T[] {
  const out: T[] = []
  socket.on(event, (value: T) => out.push(value))
  return out
}

/** Emit with an ack and resolve with the answer. */
export function request<T = Record<string, unknown>>(
  socket: Socket,
  event: string,
  payload: unknown,
  ms = 5000,
): Promise<T> {
  return socket.timeout(ms).emitWithAck(event, payload) as Promise<T>
}

/** Options to make a registration wrong on purpose. */
export interface RegisterOverrides {
  origin?: string
  challenge?: Uint8Array
  signer?: TestIdentity
  partyId?: string
  version?: number
}

/** Sign the challenge of `raw` and send `register`; resolves with the ack. */
export async function register(raw: RawSocket, id: TestIdentity, overrides: RegisterOverrides = {}) {
  const origin = overrides.origin ?? raw.challenge.origin
  const challenge = overrides.challenge ?? Buffer.from(raw.challenge.challenge, 'hex')
  const signed = registrationSignedBytes(origin, new Uint8Array(challenge), id.publicKey)
  const signature = await (overrides.signer ?? id).sign(signed)
  return request<{ ok: boolean; code?: string; partyId?: string }>(raw.socket, 'register', {
    partyId: overrides.partyId ?? id.partyId,
    signature: toHex(signature),
    version: overrides.version ?? 1,
  })
}

/** A registered raw socket and its identity. */
export interface Party extends RawSocket {
  id: TestIdentity
}

/** Connect, register (asserting success) and optionally join rooms. */
export async function party(url: string, ...rooms: string[]): Promise<Party> {
  const raw = await connectRaw(url)
  const id = await identity()
  const ack = await register(raw, id)
  if (!ack.ok) throw new Error(`registration failed: ${ack.code}`)
  for (const room of rooms) {
    const res = await request<{ ok: boolean; code?: string }>(raw.socket, 'join', { room })
    if (!res.ok) throw new Error(`join ${room} failed: ${res.code}`)
  }
  return { ...raw, id }
}

/** Wait until `check` is true (polling), or fail after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The value of the sample `name` (labels included, as printed) in a Prometheus text, if present. */
export function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

/** Give in-flight packets a moment (for "nothing arrived" assertions). */
export const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Disconnect every socket and stop every server started by the harness. */
export async function cleanup(): Promise<void> {
  for (const fn of [...cleanups]) await fn()
  cleanups.clear()
  for (const s of sockets) s.disconnect()
  sockets.clear()
  await Promise.all([...servers].map((s) => s.stop()))
  servers.clear()
}
