/**
 * The host's byte budgets (DESIGN "Byte budgets"): one {@link ByteBudget} per buffer that holds
 * bytes from peers, each a share per sender and a total of all senders, made once from the
 * limits and shown in the counters (`buffers`).
 * @module
 */
import { ByteBudget } from '../byte-budget.ts'
import type { BufferName } from '../counters.ts'
import type { PartyId } from '../ids.ts'
import type { InboxBudgets } from './inbox.ts'
import type { Limits } from './limits.ts'

/** Every budgeted buffer of a host, by its name in the counters. */
export type HostBudgets = Record<BufferName, ByteBudget<PartyId>>

/** The budgets of a host with `limits`. */
export function hostBudgets(limits: Limits): HostBudgets {
  return {
    reassembly: new ByteBudget(limits.maxReassemblyBytes, limits.maxReassemblyBytesTotal),
    unprocessed: new ByteBudget(limits.maxUnprocessedBytesPerPeer, limits.maxUnprocessedBytesTotal),
    unknownSessions: new ByteBudget(limits.unknownSessionMaxBytesPerSender, limits.unknownSessionMaxBytes),
    inbox: new ByteBudget(limits.inboxBytesPerSender, limits.inboxBytesTotal),
    keptBroadcasts: new ByteBudget(limits.keptBroadcastBytesPerSender, limits.keptBroadcastBytesTotal),
  }
}

/** What a session's inbox charges. */
export function inboxBudgets(b: HostBudgets): InboxBudgets {
  return { bodies: b.inbox, kept: b.keptBroadcasts }
}
