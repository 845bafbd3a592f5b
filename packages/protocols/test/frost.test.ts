import { inspect } from 'node:util'
import {
  ConclaveError,
  fromHex,
  type Party,
  type PartyId,
  type Session,
  type SessionId,
  toHex,
} from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createNodeCrypto } from '@conclave/core/node'
import { ed25519, ed25519_FROST } from '@noble/curves/ed25519.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  decodeDkgCommit,
  decodeDkgShare,
  decodeKeyShare,
  decodeSignCommit,
  decodeSignShare,
  echoList,
  encodeDkgCommit,
  encodeDkgConfirm,
  encodeDkgShare,
  encodeKeyShare,
  encodeSignCommit,
  encodeSignShare,
  FROST_KIND,
  type FrostKeyShare,
  frostIdentifier,
  frostPublic,
  isProtocolError,
  messageDigest,
  ownIdentifier,
  runFrostDkg,
  runFrostSign,
} from '../src/index.ts'
import { startMemoryParties } from '../src/testing.ts'

const THRESHOLD = 3
const parties: Party[] = []
/** Six parties on one memory network; the first five hold the key of the shared DKG. */
let ps: Party[] = []
/** Key shares of ps[0..4], by PartyId. */
const keys = new Map<PartyId, FrostKeyShare>()
let groupPublicKey: Uint8Array

const newSid = (): SessionId => toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))) as SessionId

/** One session among `group`, opened on each of its parties (same order as `group`). */
function sessions(group: readonly Party[]): Session[] {
  const id = newSid()
  const ids = group.map((p) => p.id)
  return group.map((p) => p.session({ id, participants: ids }))
}

const keyOf = (p: Party): FrostKeyShare => keys.get(p.id)!

beforeAll(async () => {
  parties.push(...(await startMemoryParties(6, createNodeCrypto())))
  ps = parties
  const holders = ps.slice(0, 5)
  const results = await Promise.all(sessions(holders).map((s) => runFrostDkg(s, { threshold: THRESHOLD })))
  for (const [i, p] of holders.entries()) keys.set(p.id, results[i]!)
  groupPublicKey = fromHex(results[0]!.groupPublicKey)
})

afterAll(async () => {
  for (const p of parties.splice(0)) await p.stop()
})

/** The misbehaving party's own run: it may finish or end with the abort. */
const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

/** The error a rejected run gave. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

// ── misbehaving variants: the honest rounds, with one fault, on the same codec ──────────────

async function misbehavingDkg(
  session: Session,
  threshold: number,
  fault: { corruptShareFor?: PartyId; lieAboutBroadcastOf?: PartyId },
): Promise<void> {
  const all = session.participants
  const n = all.length
  const idOf = (p: PartyId): string => frostIdentifier(session.id, all.indexOf(p) + 1, p)
  const mine = ed25519_FROST.DKG.round1(idOf(session.self), { min: threshold, max: n })
  const myCommit = encodeDkgCommit({
    threshold,
    n,
    commitment: mine.public.commitment,
    proofOfKnowledge: mine.public.proofOfKnowledge,
  })
  await session.broadcast(1, myCommit, { kind: FROST_KIND.dkgCommit })
  const bodies = await session.collect(1, { kind: FROST_KIND.dkgCommit, broadcast: true })
  const round1 = session.others.map((p) => {
    const m = decodeDkgCommit(bodies.get(p)!)
    return {
      identifier: idOf(p),
      commitment: m.commitment.map((c) => c.slice()),
      proofOfKnowledge: m.proofOfKnowledge.slice(),
    }
  })
  const out = ed25519_FROST.DKG.round2(mine.secret, round1)
  await Promise.all(
    session.others.map((to) => {
      const share = out[idOf(to)]!.signingShare.slice()
      // a valid scalar, but not the committed polynomial's value at the victim's identifier
      if (to === fault.corruptShareFor) share.set(ed25519_FROST.utils.randomScalar())
      return session.send(to, 2, encodeDkgShare(share), { kind: FROST_KIND.dkgShare })
    }),
  )
  const shares = await session.collect(2, { kind: FROST_KIND.dkgShare })
  const incoming = session.others.map((p) => ({
    identifier: idOf(p),
    signingShare: decodeDkgShare(shares.get(p)!).slice(),
  }))
  const key = ed25519_FROST.DKG.round3(mine.secret, round1, incoming)
  const echo = echoList(session.id, 1, all, new Map([...bodies, [session.self, myCommit]]))
  if (fault.lieAboutBroadcastOf) echo[all.indexOf(fault.lieAboutBroadcastOf)] = new Uint8Array(32).fill(7)
  await session.broadcast(3, encodeDkgConfirm({ groupPublicKey: key.public.commitments[0]!, echo }), {
    kind: FROST_KIND.dkgConfirm,
  })
  await session.collect(3, { kind: FROST_KIND.dkgConfirm, broadcast: true })
}

async function misbehavingSign(session: Session, key: FrostKeyShare, message: Uint8Array): Promise<void> {
  const idOf = (p: PartyId): string => frostIdentifier(key.sessionId, key.participants.indexOf(p) + 1, p)
  const secret = { identifier: ownIdentifier(key), signingShare: key.secretShare.expose() }
  const gen = ed25519_FROST.commit(secret)
  const myCommit = encodeSignCommit({
    groupPublicKey: fromHex(key.groupPublicKey),
    messageDigest: messageDigest(message),
    hiding: gen.commitments.hiding,
    binding: gen.commitments.binding,
  })
  await session.broadcast(1, myCommit, { kind: FROST_KIND.signCommit })
  const bodies = await session.collect(1, { kind: FROST_KIND.signCommit, broadcast: true })
  const list = session.participants.map((p) => {
    if (p === session.self) return gen.commitments
    const m = decodeSignCommit(bodies.get(p)!)
    return { identifier: idOf(p), hiding: m.hiding.slice(), binding: m.binding.slice() }
  })
  const echo = echoList(session.id, 1, session.participants, new Map([...bodies, [session.self, myCommit]]))
  const share = ed25519_FROST.signShare(secret, frostPublic(key), gen.nonces, list, message)
  share[0]! ^= 1 // still a scalar below L (but for a 2⁻²⁵² chance), just not the right one
  await session.broadcast(2, encodeSignShare({ echo, share }), { kind: FROST_KIND.signShare })
  await session.collect(2, { kind: FROST_KIND.signShare, broadcast: true })
}

// ── tests ──────────────────────────────────────────────────────────────────────────────────

describe('FROST DKG over the memory transport', () => {
  it('5 parties with threshold 3 agree on the group key and their public data', () => {
    const shares = ps.slice(0, 5).map(keyOf)
    const first = shares[0]!
    expect(first.participants).toEqual([...ps.slice(0, 5).map((p) => p.id)].sort())
    expect(first.groupPublicKey).toMatch(/^[0-9a-f]{64}$/)
    for (const k of shares) {
      expect(k.groupPublicKey).toBe(first.groupPublicKey)
      expect(k.commitments).toEqual(first.commitments)
      expect(k.verifyingShares).toEqual(first.verifyingShares)
      expect(k.participants).toEqual(first.participants)
      expect(k.threshold).toBe(THRESHOLD)
      expect(k.sessionId).toBe(first.sessionId)
    }
    expect(shares.map((k) => k.index).sort()).toEqual([1, 2, 3, 4, 5])
    for (const p of ps.slice(0, 5)) expect(keyOf(p).participants[keyOf(p).index - 1]).toBe(p.id)
    // any 3 shares interpolate to the secret key of the group key (checked here, never done in the protocol)
    const signers = { min: THRESHOLD, max: 5 }
    for (const subset of [
      [0, 1, 2],
      [1, 3, 4],
    ]) {
      const secret = ed25519_FROST.combineSecret(
        subset.map((i) => ({
          identifier: ownIdentifier(shares[i]!),
          signingShare: shares[i]!.secretShare.expose(),
        })),
        signers,
      )
      const pk = ed25519.Point.BASE.multiply(ed25519_FROST.utils.Fn.fromBytes(secret)).toBytes()
      expect(toHex(pk)).toBe(first.groupPublicKey)
    }
    for (const p of ps) expect(p.counters().drops).toEqual({})
  })

  it('refuses a threshold out of range with INVALID_ARGUMENT', async () => {
    const [s] = sessions(ps.slice(0, 2))
    await expect(runFrostDkg(s!, { threshold: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('names the culprit of a corrupted share, and the session aborts', async () => {
    const group = ps.slice(0, 5)
    const ss = sessions(group)
    const bad = group[4]!
    const honest = group.slice(0, 4)
    const victim = honest[1]!
    const aborted = ss.map((s) => new Promise((resolve) => s.on('aborted', resolve)))
    const runs = group.map((p, i) =>
      p === bad
        ? misbehavingDkg(ss[i]!, THRESHOLD, { corruptShareFor: victim.id })
        : runFrostDkg(ss[i]!, { threshold: THRESHOLD }),
    )
    const errors = await Promise.all(runs.map(failure))
    const victimError = errors[group.indexOf(victim)]
    expect(victimError).toMatchObject({ code: 'FROST_BAD_SHARE', details: { culprit: bad.id, round: 2 } })
    expect(isProtocolError(victimError, 'FROST_BAD_SHARE')).toBe(true)
    // the others learn it from the victim's signed abort, whose reason names the culprit
    for (const p of group) {
      if (p === victim) continue
      const e = errors[group.indexOf(p)]
      expect(e).toBeInstanceOf(ConclaveError)
      expect(e).toMatchObject({ code: 'SESSION_ABORTED', details: { by: victim.id } })
      expect(String((e as ConclaveError).details.reason)).toContain(`FROST_BAD_SHARE culprit=${bad.id}`)
    }
    await Promise.all(aborted)
  })

  it('detects a participant that reports other round-1 broadcasts (echo check)', async () => {
    const group = ps.slice(0, 5)
    const ss = sessions(group)
    const bad = group[2]!
    const about = group[0]!
    const runs = group.map((p, i) =>
      p === bad
        ? settle(misbehavingDkg(ss[i]!, THRESHOLD, { lieAboutBroadcastOf: about.id }))
        : failure(runFrostDkg(ss[i]!, { threshold: THRESHOLD })),
    )
    const errors = (await Promise.all(runs)).filter((_, i) => group[i] !== bad)
    const found = errors.filter((e) => isProtocolError(e, 'FROST_BROADCAST_MISMATCH'))
    expect(found.length).toBeGreaterThan(0)
    for (const e of found)
      expect(e).toMatchObject({ details: { reportedBy: bad.id, about: about.id, round: 3 } })
    for (const e of errors) {
      if (!isProtocolError(e)) expect(e).toMatchObject({ code: 'SESSION_ABORTED' })
    }
  })
})

describe('FROST signing over the memory transport', () => {
  const message = new TextEncoder().encode('conclave: pay 10 to carol')

  async function signWith(group: Party[], msg = message, share = keyOf): Promise<Uint8Array> {
    const ss = sessions(group)
    const sigs = await Promise.all(group.map((p, i) => runFrostSign(ss[i]!, share(p), msg)))
    for (const s of sigs) expect(toHex(s)).toBe(toHex(sigs[0]!))
    return sigs[0]!
  }

  it('3 of 5 sign; the signature verifies with ed25519.verify and the strict backend', async () => {
    const sig = await signWith([ps[0]!, ps[2]!, ps[4]!])
    expect(sig.length).toBe(64)
    expect(ed25519.verify(sig, message, groupPublicKey)).toBe(true)
    expect(ed25519.verify(sig, message, groupPublicKey, { zip215: false })).toBe(true)
    expect(await createNobleBackend().ed25519.verify(groupPublicKey, message, sig)).toBe(true)
    expect(await createNodeCrypto().ed25519.verify(groupPublicKey, message, sig)).toBe(true)
    const other = new TextEncoder().encode('conclave: pay 11 to carol')
    expect(ed25519.verify(sig, other, groupPublicKey)).toBe(false)
  })

  it('another 3-subset, and 4 and 5 signers, sign too (with key shares read back from JSON)', async () => {
    const reloaded = (p: Party): FrostKeyShare => decodeKeyShare(encodeKeyShare(keyOf(p)))
    for (const group of [[ps[1]!, ps[3]!, ps[4]!], ps.slice(0, 4), ps.slice(0, 5)]) {
      const sig = await signWith(group, message, reloaded)
      expect(ed25519.verify(sig, message, groupPublicKey, { zip215: false })).toBe(true)
      expect(await createNobleBackend().ed25519.verify(groupPublicKey, message, sig)).toBe(true)
    }
  })

  it('refuses fewer signers than the threshold with FROST_NOT_ENOUGH_SIGNERS', async () => {
    const group = [ps[0]!, ps[1]!]
    const ss = sessions(group)
    const errors = await Promise.all(group.map((p, i) => failure(runFrostSign(ss[i]!, keyOf(p), message))))
    for (const e of errors) {
      // each refuses on its own; an abort that lands first may end the other's run
      if (isProtocolError(e)) {
        expect(e).toMatchObject({
          code: 'FROST_NOT_ENOUGH_SIGNERS',
          details: { signers: 2, threshold: THRESHOLD },
        })
      } else expect(e).toMatchObject({ code: 'SESSION_ABORTED' })
    }
    expect(errors.some((e) => isProtocolError(e, 'FROST_NOT_ENOUGH_SIGNERS'))).toBe(true)
  })

  it('refuses a signer that holds no share with FROST_NOT_A_SIGNER', async () => {
    const outsider = ps[5]!
    const group = [ps[0]!, ps[1]!, outsider]
    const ss = sessions(group)
    const errors = await Promise.all([
      failure(runFrostSign(ss[0]!, keyOf(ps[0]!), message)),
      failure(runFrostSign(ss[1]!, keyOf(ps[1]!), message)),
      failure(runFrostSign(ss[2]!, keyOf(ps[0]!), message)),
    ])
    expect(errors[0]).toMatchObject({ code: 'FROST_NOT_A_SIGNER', details: { party: outsider.id } })
    expect(errors[2]).toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('attributes a corrupted signature share to its sender', async () => {
    const group = [ps[0]!, ps[1]!, ps[3]!]
    const bad = ps[3]!
    const ss = sessions(group)
    const runs = group.map((p, i) =>
      p === bad
        ? settle(misbehavingSign(ss[i]!, keyOf(p), message))
        : failure(runFrostSign(ss[i]!, keyOf(p), message)),
    )
    const errors = await Promise.all(runs)
    const honestErrors = errors.slice(0, 2)
    // every honest signer verifies the share itself; one may see the other's abort first
    expect(honestErrors.some((e) => isProtocolError(e, 'FROST_BAD_SHARE'))).toBe(true)
    for (const e of honestErrors) {
      if (isProtocolError(e))
        expect(e).toMatchObject({ code: 'FROST_BAD_SHARE', details: { culprit: bad.id, round: 2 } })
      else expect(String((e as ConclaveError).details.reason)).toContain(`FROST_BAD_SHARE culprit=${bad.id}`)
      // nothing secret in what is reported
      const text = `${(e as Error).message} ${JSON.stringify((e as { details: unknown }).details)}`
      for (const p of group) expect(text).not.toContain(toHex(keyOf(p).secretShare.expose()))
    }
  })

  it('a cancelled signer stops with ABORTED and the others learn it from its abort', async () => {
    const group = [ps[0]!, ps[1]!, ps[2]!]
    const ss = sessions(group)
    const cancel = new AbortController()
    cancel.abort()
    const errors = await Promise.all(
      group.map((p, i) =>
        failure(runFrostSign(ss[i]!, keyOf(p), message, i === 0 ? { signal: cancel.signal } : {})),
      ),
    )
    expect(errors[0]).toMatchObject({ code: 'ABORTED' })
    for (const e of errors.slice(1))
      expect(e).toMatchObject({ code: 'SESSION_ABORTED', details: { by: ps[0]!.id } })
  })

  it('stops before any share when signers disagree on the message', async () => {
    const group = [ps[0]!, ps[2]!, ps[3]!]
    const ss = sessions(group)
    const other = new TextEncoder().encode('conclave: pay 1000 to mallory')
    const errors = await Promise.all(
      group.map((p, i) => failure(runFrostSign(ss[i]!, keyOf(p), i === 2 ? other : message))),
    )
    expect(errors.some((e) => isProtocolError(e, 'FROST_PARAMS_MISMATCH'))).toBe(true)
    for (const e of errors) {
      if (isProtocolError(e))
        expect(e).toMatchObject({ code: 'FROST_PARAMS_MISMATCH', details: { what: 'message' } })
      else expect(e).toMatchObject({ code: 'SESSION_ABORTED' })
    }
  })
})

describe('FROST key shares', () => {
  it('round-trip through encodeKeyShare / decodeKeyShare', () => {
    const k = keyOf(ps[1]!)
    const text = encodeKeyShare(k)
    const back = decodeKeyShare(text)
    const { secretShare, ...pub } = back
    const { secretShare: s0, ...pub0 } = k
    expect(pub).toEqual(pub0)
    expect(toHex(secretShare.expose())).toBe(toHex(s0.expose()))
    expect(encodeKeyShare(back)).toBe(text)
  })

  it('never prints the secret share', () => {
    const k = keyOf(ps[2]!)
    const secret = toHex(k.secretShare.expose())
    expect(JSON.stringify(k)).not.toContain(secret)
    expect(inspect(k, { depth: 10 })).not.toContain(secret)
    expect(String(k.secretShare)).toBe('[secret]')
    expect(`${k.secretShare}`).not.toContain(secret)
  })

  it('rejects malformed input with a code', () => {
    const good = JSON.parse(encodeKeyShare(keyOf(ps[0]!))) as Record<string, unknown>
    const variant = (patch: Record<string, unknown>): string => JSON.stringify({ ...good, ...patch })
    const secret = good.secretShare as string
    const flipped = (secret.slice(0, 2) === '00' ? '01' : '00') + secret.slice(2)
    const cases: [string, string, string?][] = [
      ['not json', 'FROST_KEY_SHARE_INVALID'],
      ['[]', 'FROST_KEY_SHARE_INVALID'],
      [variant({ version: 2 }), 'FROST_KEY_SHARE_VERSION'],
      [variant({ suite: 'FROST-secp256k1-SHA256-v1' }), 'FROST_KEY_SHARE_VERSION'],
      [variant({ extra: 1 }), 'FROST_KEY_SHARE_INVALID', 'extra'],
      [variant({ secretShare: flipped }), 'FROST_KEY_SHARE_INVALID', 'secretShare'],
      [variant({ secretShare: secret.toUpperCase() }), 'FROST_KEY_SHARE_INVALID', 'secretShare'],
      [variant({ threshold: 1 }), 'FROST_KEY_SHARE_INVALID', 'threshold'],
      [variant({ threshold: 2 }), 'FROST_KEY_SHARE_INVALID', 'commitments'],
      [variant({ index: 6 }), 'FROST_KEY_SHARE_INVALID', 'index'],
      [
        variant({ participants: [...(good.participants as string[])].reverse() }),
        'FROST_KEY_SHARE_INVALID',
        'participants',
      ],
      [variant({ groupPublicKey: '00'.repeat(32) }), 'FROST_KEY_SHARE_INVALID', 'groupPublicKey'],
      [
        variant({ verifyingShares: (good.verifyingShares as string[]).slice(1) }),
        'FROST_KEY_SHARE_INVALID',
        'verifyingShares',
      ],
      [variant({ sessionId: 'xyz' }), 'FROST_KEY_SHARE_INVALID', 'sessionId'],
    ]
    for (const [text, code, field] of cases) {
      let err: unknown
      try {
        decodeKeyShare(text)
      } catch (e) {
        err = e
      }
      expect(err, text.slice(0, 60)).toMatchObject({ code, ...(field ? { details: { field } } : {}) })
      expect(String((err as Error).message)).not.toContain(secret)
    }
  })
})

describe('FROST wire format', () => {
  const p32 = (b: number): Uint8Array => new Uint8Array(32).fill(b)

  it('round-trips every message type', () => {
    const commit = {
      threshold: 2,
      n: 3,
      commitment: [p32(1), p32(2)],
      proofOfKnowledge: new Uint8Array(64).fill(3),
    }
    expect(decodeDkgCommit(encodeDkgCommit(commit))).toEqual(commit)
    expect(decodeDkgShare(encodeDkgShare(p32(4)))).toEqual(p32(4))
    const sc = { groupPublicKey: p32(5), messageDigest: p32(6), hiding: p32(7), binding: p32(8) }
    expect(decodeSignCommit(encodeSignCommit(sc))).toEqual(sc)
    const ss = { echo: [p32(9), p32(10), p32(11)], share: p32(12) }
    expect(decodeSignShare(encodeSignShare(ss))).toEqual(ss)
    expect(toHex(encodeDkgShare(p32(4)).subarray(0, 2))).toBe('0102')
  })

  it('refuses unknown versions and types, short input and trailing bytes, each with its code', () => {
    const body = encodeDkgShare(p32(4))
    const withVersion = body.slice()
    withVersion[0] = 2
    expect(() => decodeDkgShare(withVersion)).toThrow(
      expect.objectContaining({ code: 'DECODE_UNKNOWN_VERSION' }),
    )
    expect(() => decodeSignShare(body)).toThrow(expect.objectContaining({ code: 'DECODE_UNKNOWN_TYPE' }))
    expect(() => decodeDkgShare(body.subarray(0, 33))).toThrow(
      expect.objectContaining({ code: 'DECODE_SHORT_INPUT' }),
    )
    expect(() => decodeDkgShare(new Uint8Array([...body, 0]))).toThrow(
      expect.objectContaining({ code: 'DECODE_TRAILING_BYTES' }),
    )
    expect(() => decodeDkgCommit(new Uint8Array([1, 1, 0, 2, 0, 3]))).toThrow(
      expect.objectContaining({ code: 'DECODE_SHORT_INPUT' }),
    )
  })
})
