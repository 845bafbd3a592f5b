/**
 * The registry in Redis, shared by every instance of a cluster.
 *
 * Keys (all under `<prefix>:`):
 * - `party:<id>`: hash `socketId`, `registeredAt`, `lastSeen`, `label?`, `health?`, `instance`
 * - `rooms-of:<id>`: set of the party's rooms, the authority for membership
 * - `room:<room>`: set of PartyIds, an index for listing a room; a member counts only while
 *   its `rooms-of` set names the room, so entries of expired parties are ignored and pruned
 * - `parties`: sorted set PartyId → expiry (ms, Redis clock), the index for `/registry/*`
 *
 * Every key of a party carries a time to live (`ttlMs`) that activity and the holding
 * instance's keep-alive refresh. When an instance dies its parties' keys expire, whether or
 * not the parties register again elsewhere. Every change is one Lua script, so each is atomic
 * across instances (`join` checks the limits and adds in one step).
 *
 * Needs one Redis primary (or Sentinel): the scripts touch keys they compute, which Redis
 * Cluster would refuse.
 * @module
 */
import { createHash } from 'node:crypto'
import type { PresenceEntry } from '@conclave/core/signaling'
import type { Redis } from 'ioredis'
import type { KeepAliveStatus } from './cluster.ts'
import type { Logger } from './log.ts'
import type { JoinResult, Member, PartyRecord, Registry, RegistryStats } from './registry.ts'

/** Options of {@link createRedisRegistry}. */
export interface RedisRegistryOptions {
  /** A connected (or connecting) ioredis client for commands; not a subscriber. */
  redis: Redis
  /** Key prefix, so several networks can share one Redis. @default 'conclave' */
  prefix?: string
  /** Time to live of a registration that nothing refreshes, in ms. @default 30000 */
  ttlMs?: number
  /** Recorded with each registration (which instance holds it). @default '' */
  instanceId?: string
  /** Clock for `registeredAt` / `lastSeen`, in ms. @default Date.now */
  now?: () => number
  /** Where failed fire-and-forget writes (`touch`) are reported. */
  log?: Logger
}

/** The Redis registry: a {@link Registry}, plus what the cluster needs of it. */
export interface RedisRegistry extends Registry {
  /** Refresh the time to live of these registrations (without touching `lastSeen`). */
  keepAlive(members: readonly Member[]): Promise<KeepAliveStatus[]>
  /** Load the scripts into Redis (optional: they are loaded on first use otherwise). */
  load(): Promise<void>
  /** Resolves once every write issued so far has been answered. */
  drain(): Promise<void>
}

/** Milliseconds on the Redis clock: the same for every instance. */
const REDIS_NOW = `local function redisNow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

/** KEYS party, rooms-of, parties; ARGV prefix, partyId, socketId, hasLabel, label, now, ttl, instance */
const ADD = `${REDIS_NOW}
local old = redis.call('HGET', KEYS[1], 'socketId')
local oldRooms = redis.call('SMEMBERS', KEYS[2])
for _, room in ipairs(oldRooms) do redis.call('SREM', ARGV[1] .. 'room:' .. room, ARGV[2]) end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'socketId', ARGV[3], 'registeredAt', ARGV[6], 'lastSeen', ARGV[6], 'instance', ARGV[8])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'label', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[3], redisNow() + tonumber(ARGV[7]), ARGV[2])
if old and old ~= ARGV[3] then
  return cjson.encode({ socketId = old, rooms = oldRooms })
end
return false
`

/** KEYS party, rooms-of, parties; ARGV prefix, partyId, socketId */
const REMOVE = `
if redis.call('HGET', KEYS[1], 'socketId') ~= ARGV[3] then return false end
local fields = redis.call('HGETALL', KEYS[1])
local rooms = redis.call('SMEMBERS', KEYS[2])
for _, room in ipairs(rooms) do redis.call('SREM', ARGV[1] .. 'room:' .. room, ARGV[2]) end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return cjson.encode({ fields = fields, rooms = rooms })
`

/** KEYS party, rooms-of, room; ARGV prefix, partyId, socketId, room, roomsPerSocket, partiesPerRoom, now, ttl */
const JOIN = `
if redis.call('HGET', KEYS[1], 'socketId') ~= ARGV[3] then return cjson.encode({ code = 'NOT_REGISTERED' }) end
local added = redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 0
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if id ~= ARGV[2] then
    if redis.call('SISMEMBER', ARGV[1] .. 'rooms-of:' .. id, ARGV[4]) == 1 then
      table.insert(live, id)
    else
      redis.call('SREM', KEYS[3], id)
    end
  end
end
if added then
  if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[5]) then return cjson.encode({ code = 'TOO_MANY_ROOMS' }) end
  if #live >= tonumber(ARGV[6]) then return cjson.encode({ code = 'ROOM_FULL' }) end
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('SADD', KEYS[3], ARGV[2])
end
redis.call('HSET', KEYS[1], 'lastSeen', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
redis.call('PEXPIRE', KEYS[3], ARGV[8])
local function entry(id)
  local v = redis.call('HMGET', ARGV[1] .. 'party:' .. id, 'lastSeen', 'label', 'health')
  return { id, v[1], v[2], v[3] }
end
local peers = {}
for _, id in ipairs(live) do table.insert(peers, entry(id)) end
return cjson.encode({ added = added, self = entry(ARGV[2]), peers = peers })
`

/** KEYS party, rooms-of, room; ARGV partyId, socketId, room */
const LEAVE = `
if redis.call('HGET', KEYS[1], 'socketId') ~= ARGV[2] then return 0 end
if redis.call('SREM', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`

/**
 * KEYS party, rooms-of, parties; ARGV prefix, partyId, socketId, now ('' = keep lastSeen),
 * health ('' = keep), ttl. Returns 1 refreshed, 0 held by another socket, -1 unknown.
 */
const TOUCH = `${REDIS_NOW}
local holder = redis.call('HGET', KEYS[1], 'socketId')
if not holder then return -1 end
if holder ~= ARGV[3] then return 0 end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'health', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
for _, room in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('PEXPIRE', ARGV[1] .. 'room:' .. room, ARGV[6])
end
redis.call('ZADD', KEYS[3], redisNow() + tonumber(ARGV[6]), ARGV[2])
return 1
`

/** KEYS parties; ARGV prefix. Every live party: [id, HGETALL, rooms]. */
const NODES = `${REDIS_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', redisNow())
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HGETALL', ARGV[1] .. 'party:' .. id)
  if #fields > 0 then
    table.insert(out, { id, fields, redis.call('SMEMBERS', ARGV[1] .. 'rooms-of:' .. id) })
  end
end
return cjson.encode(out)
`

/** KEYS parties; ARGV prefix. Returns [parties, rooms, memberships, largestRoom]. */
const STATS = `${REDIS_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', redisNow())
local parties, memberships, rooms, largest = 0, 0, 0, 0
local counts = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. 'party:' .. id) == 1 then
    parties = parties + 1
    for _, room in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'rooms-of:' .. id)) do
      memberships = memberships + 1
      counts[room] = (counts[room] or 0) + 1
    end
  end
end
for _, n in pairs(counts) do
  rooms = rooms + 1
  if n > largest then largest = n end
end
return { parties, rooms, memberships, largest }
`

interface Script {
  source: string
  sha: string
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

const SCRIPTS = {
  add: script(ADD),
  remove: script(REMOVE),
  join: script(JOIN),
  leave: script(LEAVE),
  touch: script(TOUCH),
  nodes: script(NODES),
  stats: script(STATS),
}

/** A Lua table cjson encoded: arrays, or `{}` for an empty one. */
function list<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : []
}

function fieldsOf(flat: unknown): Map<string, string> {
  const a = list<string>(flat)
  const m = new Map<string, string>()
  for (let i = 0; i + 1 < a.length; i += 2) m.set(a[i] as string, a[i + 1] as string)
  return m
}

/** `[id, lastSeen, label|false, health|false]` from the JOIN script, as a presence entry. */
function entryOf(v: unknown): PresenceEntry | undefined {
  const [partyId, lastSeen, label, health] = list<string | false>(v)
  if (typeof partyId !== 'string' || typeof lastSeen !== 'string') return undefined
  const entry: PresenceEntry = { partyId, lastSeen: Number(lastSeen) }
  if (typeof label === 'string') entry.label = label
  if (typeof health === 'string') entry.health = Number(health)
  return entry
}

function presenceFromFields(partyId: string, f: Map<string, string>): PresenceEntry {
  const entry: PresenceEntry = { partyId, lastSeen: Number(f.get('lastSeen') ?? 0) }
  const label = f.get('label')
  const health = f.get('health')
  if (label !== undefined) entry.label = label
  if (health !== undefined) entry.health = Number(health)
  return entry
}

/**
 * Create the Redis registry.
 *
 * @example
 * ```ts
 * const registry = createRedisRegistry({ redis: new Redis('redis://127.0.0.1:6379'), ttlMs: 30_000 })
 * const server = createSignalingServer({ registry }) // delivery also needs the adapter: see createRedisCluster
 * ```
 */
export function createRedisRegistry(options: RedisRegistryOptions): RedisRegistry {
  const { redis, log } = options
  const p = `${options.prefix ?? 'conclave'}:`
  const ttl = String(options.ttlMs ?? 30_000)
  const instance = options.instanceId ?? ''
  const now = options.now ?? Date.now
  const inflight = new Set<Promise<unknown>>()
  /** The stats call under way: concurrent callers (scrapes, health checks) share one scan. */
  let statsCall: Promise<RegistryStats> | undefined
  const k = {
    party: (id: string) => `${p}party:${id}`,
    roomsOf: (id: string) => `${p}rooms-of:${id}`,
    room: (room: string) => `${p}room:${room}`,
    parties: `${p}parties`,
  }

  /** EVALSHA, falling back to EVAL when Redis lost the script (restart, SCRIPT FLUSH). */
  function run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    const call = redis.evalsha(s.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT'))
        return redis.eval(s.source, keys.length, ...keys, ...args)
      throw error
    })
    inflight.add(call)
    const forget = (): void => {
      inflight.delete(call)
    }
    call.then(forget, forget)
    return call
  }

  async function touchScript(member: Member, at: string, health: string): Promise<number> {
    const r = await run(
      SCRIPTS.touch,
      [k.party(member.partyId), k.roomsOf(member.partyId), k.parties],
      [p, member.partyId, member.socketId, at, health, ttl],
    )
    return Number(r)
  }

  return {
    async load() {
      await Promise.all(Object.values(SCRIPTS).map((s) => redis.script('LOAD', s.source)))
    },

    async drain() {
      // A settled write may have follow-ups (a removal announces `left`): let those be issued too.
      do {
        await Promise.allSettled([...inflight])
        await new Promise((resolve) => setImmediate(resolve))
      } while (inflight.size > 0)
    },

    async add({ partyId, socketId, label }) {
      const r = await run(
        SCRIPTS.add,
        [k.party(partyId), k.roomsOf(partyId), k.parties],
        [p, partyId, socketId, label === undefined ? '0' : '1', label ?? '', now(), ttl, instance],
      )
      if (typeof r !== 'string') return {}
      const old = JSON.parse(r) as { socketId: string; rooms: unknown }
      return { replaced: { socketId: old.socketId, rooms: list<string>(old.rooms) } }
    },

    async remove({ partyId, socketId }) {
      const r = await run(
        SCRIPTS.remove,
        [k.party(partyId), k.roomsOf(partyId), k.parties],
        [p, partyId, socketId],
      )
      if (typeof r !== 'string') return undefined
      const v = JSON.parse(r) as { fields: unknown; rooms: unknown }
      return { entry: presenceFromFields(partyId, fieldsOf(v.fields)), rooms: list<string>(v.rooms) }
    },

    async join(room, member, limits): Promise<JoinResult> {
      const r = await run(
        SCRIPTS.join,
        [k.party(member.partyId), k.roomsOf(member.partyId), k.room(room)],
        [p, member.partyId, member.socketId, room, limits.roomsPerSocket, limits.partiesPerRoom, now(), ttl],
      )
      const v = JSON.parse(String(r)) as { code?: string; added?: boolean; self?: unknown; peers?: unknown }
      if (v.code === 'NOT_REGISTERED' || v.code === 'TOO_MANY_ROOMS' || v.code === 'ROOM_FULL')
        return { ok: false, code: v.code }
      const self = entryOf(v.self)
      if (!self) return { ok: false, code: 'NOT_REGISTERED' }
      const peers = list<unknown>(v.peers)
        .map(entryOf)
        .filter((e): e is PresenceEntry => e !== undefined)
      return { ok: true, added: v.added === true, self, peers }
    },

    async leave(room, member) {
      const r = await run(
        SCRIPTS.leave,
        [k.party(member.partyId), k.roomsOf(member.partyId), k.room(room)],
        [member.partyId, member.socketId, room],
      )
      return Number(r) === 1
    },

    async isMember(room, partyId) {
      return (await redis.sismember(k.roomsOf(partyId), room)) === 1
    },

    async touch(member, health) {
      // Callers do not wait (it runs on the hot path of signal and relay): report, never throw.
      try {
        await touchScript(member, String(now()), health === undefined ? '' : String(health))
      } catch (error) {
        log?.warn('registry_touch_failed', { partyId: member.partyId, error })
      }
    },

    async keepAlive(members) {
      const codes = await Promise.all(members.map((m) => touchScript(m, '', '')))
      return codes.map((c): KeepAliveStatus => (c === 1 ? 'ok' : c === 0 ? 'replaced' : 'missing'))
    },

    async presence(partyId) {
      const [lastSeen, label, health] = await redis.hmget(k.party(partyId), 'lastSeen', 'label', 'health')
      if (lastSeen === null || lastSeen === undefined) return undefined
      const entry: PresenceEntry = { partyId, lastSeen: Number(lastSeen) }
      if (typeof label === 'string') entry.label = label
      if (typeof health === 'string') entry.health = Number(health)
      return entry
    },

    async nodes() {
      const r = await run(SCRIPTS.nodes, [k.parties], [p])
      return list<unknown>(JSON.parse(String(r))).map((row): PartyRecord => {
        const [partyId, flat, rooms] = list<unknown>(row) as [string, unknown, unknown]
        const f = fieldsOf(flat)
        const record: PartyRecord = {
          partyId,
          socketId: f.get('socketId') ?? '',
          registeredAt: Number(f.get('registeredAt') ?? 0),
          lastSeen: Number(f.get('lastSeen') ?? 0),
          rooms: list<string>(rooms).sort(),
        }
        const label = f.get('label')
        const health = f.get('health')
        if (label !== undefined) record.label = label
        if (health !== undefined) record.health = Number(health)
        return record
      })
    },

    stats(): Promise<RegistryStats> {
      statsCall ??= run(SCRIPTS.stats, [k.parties], [p])
        .then((r) => {
          const [parties = 0, rooms = 0, memberships = 0, largestRoom = 0] = list<number>(r).map(Number)
          return { parties, rooms, memberships, largestRoom }
        })
        .finally(() => {
          statsCall = undefined
        })
      return statsCall
    },
  }
}
