/**
 * A signaling server on a random local port with one room, and members of it (started
 * signaling clients): the setup of the transport compliance runs over real signaling.
 */
import { generateIdentity, type PartyId } from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createSignalingClient, type SignalingClient } from '@conclave/core/signaling'
import type { Transport } from '@conclave/core/transport'
import { createSignalingServer } from '@conclave/signaling-server'
import type { TransportPair } from '@conclave/testing'

const crypto = createNobleBackend()

/** A server, a room on it, and what stops them (servers last). */
export async function signalingRoom() {
  const server = createSignalingServer({ host: '127.0.0.1', port: 0, logLevel: 'error' })
  const { url } = await server.start()
  const room = `room-${Math.random().toString(36).slice(2)}`
  const stops: (() => Promise<void> | void)[] = [() => server.stop()]
  /** A new party's started signaling client (stopped by `cleanup`). */
  const member = async (): Promise<{ id: PartyId; signaling: SignalingClient }> => {
    const id = await generateIdentity(crypto)
    const signaling = createSignalingClient({
      url,
      publicKey: id.key.publicKey,
      sign: (b) => crypto.ed25519.sign(id.key, b),
    })
    void signaling.start().catch(() => undefined)
    stops.unshift(() => signaling.stop())
    return { id: id.id, signaling }
  }
  const cleanup = async (): Promise<void> => {
    for (const s of stops.splice(0)) await s()
  }
  return { url, room, member, stops, cleanup }
}

/** Two parties in a fresh room, each with the transport `make` builds on its signaling client. */
export async function transportPair(
  make: (signaling: SignalingClient, room: string) => Transport,
): Promise<TransportPair> {
  const w = await signalingRoom()
  const a = await w.member()
  const b = await w.member()
  return {
    a: make(a.signaling, w.room),
    b: make(b.signaling, w.room),
    idA: a.id,
    idB: b.id,
    cleanup: w.cleanup,
  }
}
