/**
 * The protocols a bench party runs on command: secure-sum, FROST key generation (the key share
 * stays in this process, never reported) and FROST signing with it.
 * @module
 */
import { type PartyId, parsePartyId, parseSessionId, toHex } from '@conclave/core/node'
import { runFrostDkg, runFrostSign, runSecureSum } from '@conclave/protocols'
import { type Command, emit, now, num, str } from '../child-io.ts'
import { cpuSince, describeError, forgetFrostKey, frostKey, keepFrostKey, party } from './party.ts'

/** `sum { sid, participants, input }`: secure-sum → `sum { ok, t0, t1, total }`. */
export async function sum(c: Command): Promise<void> {
  if (!party) throw new Error('not up')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = (c.participants as string[]).map((p) => parsePartyId(p))
  const input = BigInt(str(c, 'input'))
  const t0 = now()
  const s = party.session({ id: sid, participants, roundTimeoutMs: 20_000 })
  try {
    const total = await runSecureSum(s, input)
    emit('sum', { ok: true, t0, t1: now(), total: total.toString() })
  } catch (e) {
    emit('sum', { ok: false, t0, t1: now(), error: e instanceof Error ? e.message : String(e) })
  } finally {
    s.close()
  }
}

/** The participants of a command (`participants`: PartyIds). */
export function participantsOf(c: Command): PartyId[] {
  const list = c.participants
  if (!Array.isArray(list)) throw new Error('"participants" expected an array of PartyIds')
  return list.map((p) => parsePartyId(String(p)))
}

/**
 * FROST key generation among `participants` (this party one of them), timed from before the
 * session opens to the key share. The key share replaces any earlier one.
 */
export async function frostDkg(c: Command): Promise<void> {
  if (!party) throw new Error('not up')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = participantsOf(c)
  const threshold = num(c, 'threshold')
  forgetFrostKey()
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const s = party.session({ id: sid, participants, roundTimeoutMs: 20_000 })
  try {
    const key = await runFrostDkg(s, { threshold })
    const t1 = now()
    keepFrostKey(key)
    emit('frost-dkg', {
      ok: true,
      t0,
      t1,
      cpuUs: cpuSince(cpu0),
      groupPublicKey: key.groupPublicKey,
      index: key.index,
    })
  } catch (e) {
    emit('frost-dkg', { ok: false, t0, t1: now(), error: describeError(e) })
  } finally {
    s.close()
  }
}

/**
 * FROST signing of `message` (hex) with the key share of the last `frost-dkg`, on a fresh
 * session whose participants are the signers.
 */
export async function frostSign(c: Command): Promise<void> {
  if (!party) throw new Error('not up')
  if (!frostKey) throw new Error('no FROST key share: run frost-dkg first')
  const sid = parseSessionId(str(c, 'sid'))
  const participants = participantsOf(c)
  const hex = str(c, 'message')
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error('"message" expected lowercase hex')
  const message = Uint8Array.from(Buffer.from(hex, 'hex'))
  const key = frostKey
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const s = party.session({ id: sid, participants, roundTimeoutMs: 20_000 })
  try {
    const signature = await runFrostSign(s, key, message)
    const t1 = now()
    emit('frost-sign', {
      ok: true,
      t0,
      t1,
      cpuUs: cpuSince(cpu0),
      signature: toHex(signature),
      groupPublicKey: key.groupPublicKey,
    })
  } catch (e) {
    emit('frost-sign', { ok: false, t0, t1: now(), error: describeError(e) })
  } finally {
    s.close()
  }
}
