/**
 * A long-running server forgets the parties that left (issue #16, item 12): after waves of
 * short-lived parties (the soak's proposers: register, join, signal, relay, go), whichever way
 * each went (it disconnected, a newer socket replaced it, the server cut it), the registry, its
 * rooms and the connections are back to what the parties that stay account for.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, connectRaw, party, register, request, startServer, until } from './harness.ts'

afterEach(cleanup)

const data = { linkId: 'a:b', attempt: 1, kind: 'offer', payload: { type: 'offer', sdp: 'v=0' } }

describe('departed parties', () => {
  it('are forgotten: registry, rooms and connections come back to those that stay', async () => {
    const { url, server } = await startServer({ heartbeatTimeoutMs: 1000 })
    const stays = await party(url, 'room')
    // the party that stays heartbeats; the silent ones below are cut for it
    const beat = setInterval(() => stays.socket.emit('heartbeat', {}), 200)
    try {
      const baseline = await server.registry.stats()
      expect(baseline).toEqual({ parties: 1, rooms: 1, memberships: 1, largestRoom: 1 })
      for (let wave = 0; wave < 3; wave++) {
        const goers = await Promise.all(
          Array.from({ length: 8 }, (_, i) => party(url, 'room', `side-${wave}-${i}`)),
        )
        for (const g of goers) {
          await request(g.socket, 'signal', { room: 'room', to: stays.id.partyId, data })
          g.socket.emit('relay', { room: 'room', to: stays.id.partyId, frame: new Uint8Array(16) })
        }
        expect((await server.registry.stats()).parties).toBe(9)
        // two leave by themselves, two are replaced by a newer socket that then leaves too, the
        // rest go silent and are cut by the server (HEARTBEAT_TIMEOUT)
        for (const g of goers.slice(0, 2)) g.socket.disconnect()
        for (const g of goers.slice(2, 4)) {
          const again = await connectRaw(url)
          expect((await register(again, g.id)).ok).toBe(true)
          await request(again.socket, 'join', { room: 'room' })
          again.socket.disconnect()
        }
        await until(async () => (await server.registry.stats()).parties === 1, 5000, `wave ${wave} forgotten`)
      }
      expect(await server.registry.stats()).toEqual(baseline)
      expect((await server.registry.nodes()).map((n) => n.partyId)).toEqual([stays.id.partyId])
      await until(() => server.connections === 1, 5000, 'one connection')
    } finally {
      clearInterval(beat)
    }
  })
})
