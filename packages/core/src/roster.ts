/**
 * The roster: the optional trust anchor, like a genesis file. With a roster only listed parties
 * are accepted; without one any party that proves its key is ("open" mode).
 * @module
 */
import { describe } from './bytes.ts'
import { ConclaveError } from './errors.ts'
import { type PartyId, parsePartyId } from './ids.ts'

/** One roster entry. */
export interface RosterEntry {
  id: PartyId
  label?: string
  roles: string[]
}

/** A parsed roster. */
export interface Roster {
  version: 1
  parties: ReadonlyMap<PartyId, RosterEntry>
  /** Keys allowed to issue session grants. */
  grantIssuers: ReadonlySet<PartyId>
}

/**
 * Parse roster JSON: `{ "version": 1, "parties": [{ "id", "label"?, "roles"? }], "grantIssuers"?: [id] }`.
 * @throws ConclaveError `INVALID_ARGUMENT` naming the bad field, `INVALID_PARTY_ID` for a bad id
 */
export function parseRoster(json: unknown): Roster {
  const o = json as { version?: unknown; parties?: unknown; grantIssuers?: unknown } | null
  if (!o || typeof o !== 'object')
    throw new ConclaveError('INVALID_ARGUMENT', `roster expected an object, got ${describe(o)}`)
  if (o.version !== 1)
    throw new ConclaveError('INVALID_ARGUMENT', `roster "version" expected 1, got ${describe(o.version)}`)
  if (!Array.isArray(o.parties) || o.parties.length === 0) {
    throw new ConclaveError('INVALID_ARGUMENT', 'roster "parties" expected a non-empty array')
  }
  const parties = new Map<PartyId, RosterEntry>()
  for (const [i, p] of o.parties.entries()) {
    const e = p as { id?: unknown; label?: unknown; roles?: unknown } | null
    if (!e || typeof e !== 'object')
      throw new ConclaveError('INVALID_ARGUMENT', `roster parties[${i}] expected an object`)
    const id = parsePartyId(e.id)
    if (parties.has(id))
      throw new ConclaveError('INVALID_ARGUMENT', `roster parties[${i}] repeats ${id.slice(0, 16)}…`)
    if (e.label !== undefined && (typeof e.label !== 'string' || e.label.length > 64)) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `roster parties[${i}].label expected a string of at most 64 chars`,
      )
    }
    if (e.roles !== undefined && (!Array.isArray(e.roles) || !e.roles.every((r) => typeof r === 'string'))) {
      throw new ConclaveError('INVALID_ARGUMENT', `roster parties[${i}].roles expected an array of strings`)
    }
    parties.set(id, {
      id,
      ...(e.label !== undefined ? { label: e.label as string } : {}),
      roles: (e.roles as string[]) ?? [],
    })
  }
  const issuers = o.grantIssuers ?? []
  if (!Array.isArray(issuers))
    throw new ConclaveError('INVALID_ARGUMENT', 'roster "grantIssuers" expected an array')
  return { version: 1, parties, grantIssuers: new Set(issuers.map((x) => parsePartyId(x))) }
}
