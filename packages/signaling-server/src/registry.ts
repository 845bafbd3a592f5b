/**
 * The registry: which parties are registered on which socket, which rooms they are in, when they
 * were last seen and how healthy they say they are.
 *
 * Every lookup the server makes for a membership check goes through the small async
 * {@link Registry} interface, so that a shared store (Redis, for several instances behind a load
 * balancer) can replace {@link createMemoryRegistry} without touching the event handlers.
 * Delivery itself goes through socket.io rooms (`p:<partyId>`, `r:<room>`), which the socket.io
 * Redis adapter already spreads across instances.
 * @module
 */
import type { PresenceEntry } from '@conclave/core/signaling'

/** A registered party as the registry keeps it. */
export interface PartyRecord {
  partyId: string
  label?: string
  /** The socket the party is registered on (one PartyId per socket, the newest wins). */
  socketId: string
  /** ms since epoch. */
  registeredAt: number
  /** ms since epoch of the last event from the party. */
  lastSeen: number
  /** Last health the party reported, in [0, 1]. */
  health?: number
  rooms: string[]
}

/** Registry-wide numbers for `GET /registry/stats` and the metrics. */
export interface RegistryStats {
  parties: number
  rooms: number
  /** Sum over rooms of their parties. */
  memberships: number
  largestRoom: number
}

/** A registered party on a given socket: what the mutating calls act on behalf of. */
export interface Member {
  partyId: string
  socketId: string
}

/** Outcome of {@link Registry.join}. `peers` are the other parties of the room. */
export type JoinResult =
  | { ok: true; peers: PresenceEntry[]; added: boolean; self: PresenceEntry }
  | { ok: false; code: 'TOO_MANY_ROOMS' | 'ROOM_FULL' | 'NOT_REGISTERED' }

/** Limits {@link Registry.join} enforces atomically with the membership change. */
export interface JoinLimits {
  roomsPerSocket: number
  partiesPerRoom: number
}

/**
 * The membership and presence store. Async throughout, so that it can live outside the process.
 * Calls that act for a {@link Member} do nothing (or say `NOT_REGISTERED`) when that socket no
 * longer holds the PartyId, so a replaced socket cannot act for its successor.
 */
export interface Registry {
  /** Record a registration; a record of the same PartyId on another socket is replaced and returned. */
  add(party: Member & { label?: string }): Promise<{ replaced?: { socketId: string; rooms: string[] } }>
  /** Forget a party if `socketId` still holds it; returns its last entry and rooms, else undefined. */
  remove(member: Member): Promise<{ entry: PresenceEntry; rooms: string[] } | undefined>
  /** Add the member to a room within the limits (joining a room twice is fine: `added: false`). */
  join(room: string, member: Member, limits: JoinLimits): Promise<JoinResult>
  /** Remove the member from a room; false when it was not in it. */
  leave(room: string, member: Member): Promise<boolean>
  /** Whether the party (on whatever socket holds it) is in the room. */
  isMember(room: string, partyId: string): Promise<boolean>
  /** Note activity (and reported health) of the member. */
  touch(member: Member, health?: number): Promise<void>
  /** The party's presence entry, if registered. */
  presence(partyId: string): Promise<PresenceEntry | undefined>
  /** Every registered party. */
  nodes(): Promise<PartyRecord[]>
  /** Registry-wide counts (parties, rooms). */
  stats(): Promise<RegistryStats>
}

/** Options of {@link createMemoryRegistry}. */
export interface MemoryRegistryOptions {
  /** Clock in ms. @default Date.now */
  now?: () => number
}

interface StoredParty extends Omit<PartyRecord, 'rooms'> {
  rooms: Set<string>
}

function presenceOf(r: StoredParty): PresenceEntry {
  const entry: PresenceEntry = { partyId: r.partyId, lastSeen: r.lastSeen }
  if (r.label !== undefined) entry.label = r.label
  if (r.health !== undefined) entry.health = r.health
  return entry
}

/** The in-process registry (one server instance). */
export function createMemoryRegistry(options: MemoryRegistryOptions = {}): Registry {
  const now = options.now ?? Date.now
  const parties = new Map<string, StoredParty>()
  const rooms = new Map<string, Set<string>>()

  function current(member: Member): StoredParty | undefined {
    const r = parties.get(member.partyId)
    return r !== undefined && r.socketId === member.socketId ? r : undefined
  }

  function dropFromRooms(r: StoredParty): string[] {
    const left = [...r.rooms]
    for (const room of left) {
      const members = rooms.get(room)
      members?.delete(r.partyId)
      if (members?.size === 0) rooms.delete(room)
    }
    r.rooms.clear()
    return left
  }

  return {
    async add({ partyId, socketId, label }) {
      const old = parties.get(partyId)
      const replaced =
        old && old.socketId !== socketId ? { socketId: old.socketId, rooms: dropFromRooms(old) } : undefined
      const t = now()
      const record: StoredParty = { partyId, socketId, registeredAt: t, lastSeen: t, rooms: new Set() }
      if (label !== undefined) record.label = label
      parties.set(partyId, record)
      return replaced ? { replaced } : {}
    },

    async remove(member) {
      const r = current(member)
      if (!r) return undefined
      parties.delete(member.partyId)
      return { entry: presenceOf(r), rooms: dropFromRooms(r) }
    },

    async join(room, member, limits) {
      const r = current(member)
      if (!r) return { ok: false, code: 'NOT_REGISTERED' }
      let members = rooms.get(room)
      const added = !r.rooms.has(room)
      if (added) {
        if (r.rooms.size >= limits.roomsPerSocket) return { ok: false, code: 'TOO_MANY_ROOMS' }
        if ((members?.size ?? 0) >= limits.partiesPerRoom) return { ok: false, code: 'ROOM_FULL' }
        if (!members) {
          members = new Set()
          rooms.set(room, members)
        }
        members.add(r.partyId)
        r.rooms.add(room)
      }
      r.lastSeen = now()
      const peers: PresenceEntry[] = []
      for (const id of members ?? []) {
        const p = parties.get(id)
        if (p && id !== r.partyId) peers.push(presenceOf(p))
      }
      return { ok: true, peers, added, self: presenceOf(r) }
    },

    async leave(room, member) {
      const r = current(member)
      if (!r?.rooms.delete(room)) return false
      const members = rooms.get(room)
      members?.delete(r.partyId)
      if (members?.size === 0) rooms.delete(room)
      return true
    },

    async isMember(room, partyId) {
      return rooms.get(room)?.has(partyId) ?? false
    },

    async touch(member, health) {
      const r = current(member)
      if (!r) return
      r.lastSeen = now()
      if (health !== undefined) r.health = health
    },

    async presence(partyId) {
      const r = parties.get(partyId)
      return r ? presenceOf(r) : undefined
    },

    async nodes() {
      return [...parties.values()].map((r) => ({ ...r, rooms: [...r.rooms].sort() }))
    },

    async stats() {
      let memberships = 0
      let largestRoom = 0
      for (const members of rooms.values()) {
        memberships += members.size
        largestRoom = Math.max(largestRoom, members.size)
      }
      return { parties: parties.size, rooms: rooms.size, memberships, largestRoom }
    },
  }
}
