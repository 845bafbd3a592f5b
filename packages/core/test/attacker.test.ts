/**
 * The network and other parties as attackers: a relaying party can't read or change frames,
 * a handshake against a key other than the expected PartyId fails, and so on.
 */
import {
  generateIdentity,
  type PartyId,
  partyIdFromBytes,
  type SigningKey,
  toHex,
  utf8,
} from '@conclave/core'
import { createNobleBackend } from '@conclave/core/crypto'
import { createNodeCrypto } from '@conclave/core/node'
import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js'
import { afterEach, describe, expect, it } from 'vitest'
import { makeParty, network, RawPeer, sessionPair, until } from './helpers.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return toHex(hay).includes(toHex(needle))
}

describe('attackers', () => {
  it('a party relaying frames between two others can read none of them, and an altered frame is refused', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const seen: Uint8Array[] = []
    let tamper = false
    let tampered = 0
    // The relay sits on every frame between a and b.
    net.setInterceptor(({ frame }) => {
      seen.push(frame)
      if (tamper && frame[0] === 2 && tampered === 0) {
        tampered++
        const copy = frame.slice()
        copy[copy.length - 20] = copy[copy.length - 20]! ^ 1
        return copy
      }
      return frame
    })
    const { a, b, sa, sb, stop } = await sessionPair(crypto, { net })
    stops.push(stop)
    const secret = utf8('the launch code is 0000-CONCLAVE-SECRET')
    await sa.send(b.party.id, 1, secret)
    expect(await sb.receive(a.party.id, 1)).toEqual(secret)
    expect(seen.length).toBeGreaterThan(2)
    for (const f of seen) expect(contains(f, secret)).toBe(false)
    // now the relay flips one bit of a data frame: the receiver refuses it and the link closes
    tamper = true
    await sa.send(b.party.id, 2, utf8('second'))
    await until(
      () => (b.party.counters().drops.FRAME_DECRYPT_FAILED ?? 0) === 1,
      5000,
      'decrypt failure counted',
    )
    expect(
      b.events.some((e) => e.type === 'peer' && e.state === 'lost' && e.code === 'FRAME_DECRYPT_FAILED'),
    ).toBe(true)
    // nothing altered was ever delivered: the message arrives intact, resent on a new link
    expect(new TextDecoder().decode(await sb.receive(a.party.id, 2, { timeoutMs: 10_000 }))).toBe('second')
    expect(b.party.counters().handshakes).toBeGreaterThanOrEqual(2)
  })

  it('a handshake that reaches a key other than the expected PartyId fails (HANDSHAKE_UNEXPECTED_PEER)', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto)
    const b = await makeParty(net, crypto)
    const mallory = await makeParty(net, crypto)
    stops.push(
      () => a.party.stop(),
      () => b.party.stop(),
      () => mallory.party.stop(),
    )
    net.redirect({ from: a.party.id, to: b.party.id, via: mallory.party.id })
    await a.party.connect(b.party.id)
    await until(() => a.events.some((e) => e.type === 'handshake-failed'), 5000, 'handshake failure')
    const fail = a.events.find((e) => e.type === 'handshake-failed')
    expect(fail).toMatchObject({ code: 'HANDSHAKE_UNEXPECTED_PEER', peer: b.party.id })
    expect(a.party.counters().handshakeFailures.HANDSHAKE_UNEXPECTED_PEER).toBe(1)
    expect(a.party.peers()).toEqual([])
  })

  it("claiming another party's id without its key fails (HANDSHAKE_BAD_SIGNATURE)", async () => {
    const crypto = createNobleBackend()
    const net = network()
    const a = await makeParty(net, crypto)
    stops.push(() => a.party.stop())
    const victim = await generateIdentity(crypto, { extractable: true })
    const mallory = await generateIdentity(crypto, { extractable: true })
    // a key object that announces the victim's public key but signs with mallory's seed
    const forged: SigningKey = { ...mallory.key, publicKey: victim.key.publicKey }
    const m = await RawPeer.create(net, crypto, forged, victim.id)
    await m.transport!.connect(a.party.id)
    await until(() => a.events.some((e) => e.type === 'handshake-failed'), 5000, 'handshake failure')
    expect(a.events.find((e) => e.type === 'handshake-failed')).toMatchObject({
      code: 'HANDSHAKE_BAD_SIGNATURE',
    })
    expect(a.party.peers()).toEqual([])
  })

  it('refuses a small-order identity key at the handshake (KEY_SMALL_ORDER)', async () => {
    const crypto = createNobleBackend()
    const net = network()
    const a = await makeParty(net, crypto)
    stops.push(() => a.party.stop())
    const smallOrder = ED25519_TORSION_SUBGROUP.find((h) => h !== '0'.repeat(64) && !h.startsWith('01'))!
    const key = (await generateIdentity(crypto, { extractable: true })).key
    const weird: SigningKey = { ...key, publicKey: Uint8Array.from(Buffer.from(smallOrder, 'hex')) }
    const m = await RawPeer.create(net, crypto, weird, partyIdFromBytes(weird.publicKey))
    await m.transport!.connect(a.party.id)
    await until(() => a.events.some((e) => e.type === 'handshake-failed'), 5000, 'handshake failure')
    expect(a.events.find((e) => e.type === 'handshake-failed')).toMatchObject({ code: 'KEY_SMALL_ORDER' })
  })

  it('with a roster, a party not on it is refused (HANDSHAKE_NOT_IN_ROSTER)', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const bKey = (await generateIdentity(crypto)).key
    const bId = partyIdFromBytes(bKey.publicKey)
    const a = await makeParty(net, crypto, { roster: new Set<PartyId>([bId]) })
    const b = await makeParty(net, crypto, { key: bKey })
    const outsider = await makeParty(net, crypto)
    stops.push(
      () => a.party.stop(),
      () => b.party.stop(),
      () => outsider.party.stop(),
    )
    await a.party.waitForPeers([bId], { timeoutMs: 5000 })
    await outsider.party.connect(a.party.id)
    await until(() => a.events.some((e) => e.type === 'handshake-failed'), 5000, 'refusal')
    expect(a.events.find((e) => e.type === 'handshake-failed')).toMatchObject({
      code: 'HANDSHAKE_NOT_IN_ROSTER',
      peer: outsider.party.id,
    })
    expect(a.party.peers().map((p) => p.peer)).toEqual([bId])
  })

  it('parties of different modes do not link (HANDSHAKE_MODE_MISMATCH)', async () => {
    const crypto = createNodeCrypto()
    const net = network()
    const a = await makeParty(net, crypto, { mode: 'secure-sum' })
    const b = await makeParty(net, crypto, { mode: 'frost' })
    stops.push(
      () => a.party.stop(),
      () => b.party.stop(),
    )
    await a.party.connect(b.party.id)
    await until(() => a.events.some((e) => e.type === 'handshake-failed'), 5000, 'refusal')
    expect(a.events.find((e) => e.type === 'handshake-failed')).toMatchObject({
      code: 'HANDSHAKE_MODE_MISMATCH',
    })
  })
})
