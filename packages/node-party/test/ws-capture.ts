/**
 * A wire tap for tests: a TCP proxy on 127.0.0.1 in front of the signaling server that records
 * every byte in both directions, and a WebSocket frame parser (RFC 6455) that reads the
 * recording back as messages, unmasking the client's frames. What it shows is what the network
 * and the server see.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

/** The bytes of one proxied TCP connection. */
export interface TappedConnection {
  /** Client → server. */
  up: Buffer[]
  /** Server → client. */
  down: Buffer[]
}

/** One WebSocket message. */
export interface WsMessage {
  /** 1 text, 2 binary (control frames are left out). */
  opcode: number
  payload: Buffer
}

/** A running tap. */
export interface WireTap {
  /** The proxy's port: clients dial `http://127.0.0.1:<port>`. */
  readonly port: number
  readonly url: string
  /** Where to forward (the signaling server's port); connections before it is set are refused. */
  target: number | undefined
  readonly connections: TappedConnection[]
  close(): Promise<void>
}

/** Start a tap on a free port of 127.0.0.1. */
export async function startWireTap(): Promise<WireTap> {
  const connections: TappedConnection[] = []
  const sockets = new Set<Socket>()
  const tap: { target: number | undefined } = { target: undefined }
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    if (tap.target === undefined) {
      client.destroy()
      return
    }
    const rec: TappedConnection = { up: [], down: [] }
    connections.push(rec)
    const upstream = tcpConnect(tap.target, '127.0.0.1')
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    client.on('data', (d: Buffer) => rec.up.push(Buffer.from(d)))
    upstream.on('data', (d: Buffer) => rec.down.push(Buffer.from(d)))
    client.pipe(upstream)
    upstream.pipe(client)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end)
    upstream.on('error', end)
    client.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('tap has no port')
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    get target() {
      return tap.target
    },
    set target(port: number | undefined) {
      tap.target = port
    },
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** The WebSocket messages of one direction of a recorded connection (after the HTTP upgrade). */
export function wsMessages(chunks: Buffer[]): WsMessage[] {
  const all = Buffer.concat(chunks)
  const headerEnd = all.indexOf('\r\n\r\n')
  if (headerEnd < 0) return []
  let off = headerEnd + 4
  const out: WsMessage[] = []
  let partial: { opcode: number; parts: Buffer[] } | undefined
  while (off + 2 <= all.length) {
    const b0 = all[off]!
    const b1 = all[off + 1]!
    const fin = (b0 & 0x80) !== 0
    const opcode = b0 & 0x0f
    const masked = (b1 & 0x80) !== 0
    let len = b1 & 0x7f
    let p = off + 2
    if (len === 126) {
      if (p + 2 > all.length) break
      len = all.readUInt16BE(p)
      p += 2
    } else if (len === 127) {
      if (p + 8 > all.length) break
      len = Number(all.readBigUInt64BE(p))
      p += 8
    }
    const mask = masked ? all.subarray(p, p + 4) : undefined
    if (masked) p += 4
    if (p + len > all.length) break // cut off by the end of the recording
    const payload = Buffer.from(all.subarray(p, p + len))
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!
    off = p + len
    if (opcode >= 8) continue // close, ping, pong
    if (opcode !== 0) partial = { opcode, parts: [payload] }
    else partial?.parts.push(payload)
    if (fin && partial) {
      out.push({ opcode: partial.opcode, payload: Buffer.concat(partial.parts) })
      partial = undefined
    }
  }
  return out
}
