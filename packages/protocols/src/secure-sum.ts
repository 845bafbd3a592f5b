/**
 * `secure-sum`: every party splits its private number into additive shares modulo 2¹²⁸, sends
 * one share to each other party over the encrypted links (round 1, direct), and broadcasts the
 * sum of the shares it holds (round 2). All learn the total and nothing else: any n − 1 shares
 * of a number are uniformly random.
 *
 * Inputs are integers in (−2¹²⁶, 2¹²⁶); the total must stay in that range to be read back.
 * @module
 */
import { ConclaveError, type PartyId, type Session } from '@conclave/core'

/** The protocol's name (session mode / proposal tag). */
export const SECURE_SUM = 'secure-sum'

const MODULUS = 1n << 128n
const LIMIT = 1n << 126n

/** Options of {@link runSecureSum}. */
export interface SecureSumOptions {
  /** CSPRNG. @default globalThis.crypto.getRandomValues */
  randomBytes?: (n: number) => Uint8Array
  /** Round to start at (rounds r and r+1 are used). @default 1 */
  firstRound?: number
}

function encode(v: bigint): Uint8Array {
  const out = new Uint8Array(16)
  let x = ((v % MODULUS) + MODULUS) % MODULUS
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}

function decode(b: Uint8Array, from: PartyId): bigint {
  if (b.length !== 16) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `secure-sum: share from ${from.slice(0, 16)}… expected 16 bytes, got ${b.length}`,
      { from },
    )
  }
  let x = 0n
  for (const byte of b) x = (x << 8n) | BigInt(byte)
  return x
}

function randomBelowModulus(randomBytes: (n: number) => Uint8Array): bigint {
  return decode(randomBytes(16), '' as PartyId)
}

/**
 * Run secure-sum in an open session; resolves to the total of every participant's input.
 * @throws ConclaveError `INVALID_ARGUMENT` for an input out of range, or the session's error
 *   (`ROUND_TIMEOUT`, `SESSION_ABORTED` …)
 */
export async function runSecureSum(
  session: Session,
  input: bigint,
  options: SecureSumOptions = {},
): Promise<bigint> {
  if (typeof input !== 'bigint' || input <= -LIMIT || input >= LIMIT) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `secure-sum: "input" expected a bigint in (−2^126, 2^126), got ${String(input)}`,
    )
  }
  const rand = options.randomBytes ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)))
  const r1 = options.firstRound ?? 1
  const others = session.others
  // shares for the others are random; ours makes the sum come out to `input`
  let own = input
  const sends: Promise<void>[] = []
  for (const p of others) {
    const share = randomBelowModulus(rand)
    own -= share
    sends.push(session.send(p, r1, encode(share), { kind: 'share' }))
  }
  await Promise.all(sends)
  const shares = await session.collect(r1, { kind: 'share' })
  let partial = own
  for (const [from, body] of shares) partial += decode(body, from)
  await session.broadcast(r1 + 1, encode(partial), { kind: 'partial' })
  const partials = await session.collect(r1 + 1, { kind: 'partial', broadcast: true })
  let total = partial
  for (const [from, body] of partials) total += decode(body, from)
  total = ((total % MODULUS) + MODULUS) % MODULUS
  return total >= MODULUS / 2n ? total - MODULUS : total
}
