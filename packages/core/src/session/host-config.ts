/**
 * The configuration of the in-thread session host.
 * @module
 */
import type { NextTurn } from '../channel/next-turn.ts'
import type { CryptoBackend, SigningKey } from '../crypto/types.ts'
import type { PartyId } from '../ids.ts'
import type { GrantStore } from './grants.ts'
import type { Limits } from './limits.ts'
import type { OutboxStore } from './outbox.ts'

/** Configuration of a session host. */
export interface SessionHostConfig {
  crypto: CryptoBackend
  identity: SigningKey
  /** Service mode both ends of a link must share. @default 'conclave' */
  mode?: string
  /** When set, only these parties are accepted (the trust anchor). Without it: open mode. */
  roster?: ReadonlySet<PartyId> | undefined
  /** 16-byte stream epoch. @default 16 random bytes */
  epoch?: Uint8Array
  /** Keys allowed to issue session grants (the roster's `grantIssuers`). */
  grantIssuers?: ReadonlySet<PartyId> | undefined
  /** Refuse proposals without a valid grant. @default true when `grantIssuers` is not empty */
  requireGrant?: boolean
  /** Remembers used grantIds. @default in memory (use a file store to survive restarts) */
  grantStore?: GrantStore
  limits?: Partial<Limits>
  /** Clock (ms since the Unix epoch). @default Date.now */
  now?: () => number
  /**
   * Keeps the epoch, delivery streams and open sessions across restarts (DESIGN "Delivery"):
   * a host started with the same key and store resumes them, and its peers see no restart.
   * The store's epoch wins over `epoch`. The host closes the store on `stop()`.
   * @default none: a restart is a new epoch, and peers abort the sessions with PEER_RESTARTED
   */
  outbox?: OutboxStore
  /**
   * The next turn of the event loop, on which the sends of a turn are signed together and the
   * records of a turn share frames (see `channel/next-turn.ts`).
   * @default messageChannelTurn (Node entries pass `setImmediateTurn` from `next-turn.node.ts`)
   */
  nextTurn?: NextTurn
}
