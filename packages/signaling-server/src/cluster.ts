/**
 * The cluster seam (types only): what a signaling server needs to serve one network together
 * with other instances. `createRedisCluster` in `redis-cluster.ts` implements it on Redis.
 *
 * Two things are shared between instances:
 * - **delivery**: a socket.io adapter, so that `io.to('p:<partyId>')` reaches the socket of that
 *   party on whichever instance holds it (signals, relay frames, presence, evictions);
 * - **state**: a {@link Registry} in a shared store, so that membership checks, presence and
 *   `/registry/*` cover the whole cluster. Registrations live there with a time to live that
 *   the instance holding them keeps refreshing ({@link Cluster.keepAlive}); the registrations
 *   of an instance that dies expire, so nothing of it lingers.
 * @module
 */
import type { ServerOptions } from 'socket.io'
import type { Member, Registry } from './registry.ts'

/** What {@link Cluster.keepAlive} found for one member. */
export type KeepAliveStatus =
  /** Refreshed. */
  | 'ok'
  /** Another socket (here or on another instance) holds the PartyId now. */
  | 'replaced'
  /** The store no longer knows the registration (it expired, or the store lost its data). */
  | 'missing'

/** A shared store and message bus for several signaling server instances. */
export interface Cluster {
  /** This instance's id in the cluster (random per process), for logs. */
  readonly instanceId: string
  /** The shared registry. */
  readonly registry: Registry
  /** The socket.io adapter factory (`new Server(http, { adapter })`). */
  readonly adapter: NonNullable<ServerOptions['adapter']>
  /** How often {@link keepAlive} must run, in ms (a fraction of the registrations' time to live). */
  readonly keepAliveMs: number
  /**
   * Connect to the store.
   * @throws the store's connection error
   */
  start(): Promise<void>
  /**
   * Whether the store answers now, within `timeoutMs` (what `GET /readyz` reports). Never throws.
   */
  reachable(timeoutMs: number): Promise<boolean>
  /** Refresh the time to live of the registrations this instance holds; one status per member. */
  keepAlive(members: readonly Member[]): Promise<KeepAliveStatus[]>
  /** Wait for pending writes, then disconnect from the store. Idempotent. */
  stop(): Promise<void>
}
