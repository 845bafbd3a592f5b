/**
 * The keep-alive of a cluster instance: it refreshes, in the shared registry, the registrations
 * of the sockets connected to it, so that they outlive their time to live only while this
 * instance is alive. A registration the registry no longer holds for this socket is dealt with
 * once the next round confirms it (a registration may be half-way through on the first):
 * - held by another socket: this one is cut with `REPLACED` (the eviction message was lost);
 * - unknown to the registry (it expired while Redis was unreachable, or Redis lost its data):
 *   the connection is closed under the client, which reconnects and registers again.
 * @module
 */
import type { Cluster } from './cluster.ts'
import type { Connection } from './connection.ts'
import type { Logger } from './log.ts'
import type { Member } from './registry.ts'

/** Start the keep-alive rounds; returns the function that stops them. */
export function startKeepAlive(
  cluster: Cluster,
  connections: ReadonlyMap<string, Connection>,
  log: Logger,
): () => void {
  /** Socket ids found wanting by the previous round. */
  let suspects = new Set<string>()
  let running = false

  async function round(): Promise<void> {
    if (running) return
    running = true
    try {
      const live: Connection[] = []
      const members: Member[] = []
      for (const c of connections.values()) {
        if (c.partyId === undefined || c.socket.disconnected) continue
        live.push(c)
        members.push({ partyId: c.partyId, socketId: c.socket.id })
      }
      const statuses = await cluster.keepAlive(members)
      const next = new Set<string>()
      statuses.forEach((status, i) => {
        const c = live[i]
        if (!c || status === 'ok') return
        if (!suspects.has(c.socket.id)) {
          next.add(c.socket.id)
          return
        }
        log.warn('registration_lost', { partyId: c.partyId, socketId: c.socket.id, status })
        if (status === 'replaced') c.cut('REPLACED', 'a newer connection registered this PartyId')
        else c.socket.conn.close()
      })
      suspects = next
    } catch (error) {
      log.error('keepalive_failed', { error })
    } finally {
      running = false
    }
  }

  const timer = setInterval(() => void round(), cluster.keepAliveMs)
  timer.unref()
  return () => clearInterval(timer)
}
