/**
 * Test helpers: real parties on a memory network, and a "raw peer" that completes a genuine
 * handshake but then sends whatever units and records a test crafts (the attacker).
 */
import {
  type CryptoBackend,
  type GrantStore,
  generateIdentity,
  type Limits,
  type Party,
  type PartyEvent,
  type PartyId,
  partyIdToBytes,
  type SessionId,
  type SigningKey,
  sessionIdToBytes,
} from '@conclave/core'
import { type HandshakeResult, SecureChannel } from '@conclave/core/channel'
import { createInThreadSessionHost, createParty, type InThreadSessionHost } from '@conclave/core/host'
import { createMemoryNetwork, type Link, type MemoryNetwork } from '@conclave/core/transport'
import {
  batchSignedBytes,
  type EnvelopeFields,
  encodeBatch,
  encodeFullBatch,
  encodePayload,
  encodeUnit,
  envelopeSignedBytes,
  type Record,
  RecordType,
} from '@conclave/core/wire'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomSid, until as waitUntil } from './kit.ts'

export interface TestParty {
  party: Party
  host: InThreadSessionHost
  key: SigningKey
  events: PartyEvent[]
}

/** A real party with an in-thread host the test can inspect. */
export async function makeParty(
  net: MemoryNetwork,
  crypto: CryptoBackend,
  options: {
    limits?: Partial<Limits>
    roster?: Set<PartyId>
    key?: SigningKey
    mode?: string
    grantIssuers?: Set<PartyId>
    grantStore?: GrantStore
  } = {},
): Promise<TestParty> {
  const key = options.key ?? (await generateIdentity(crypto)).key
  const host = createInThreadSessionHost({
    crypto,
    identity: key,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.roster ? { roster: options.roster } : {}),
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.grantIssuers ? { grantIssuers: options.grantIssuers } : {}),
    ...(options.grantStore ? { grantStore: options.grantStore } : {}),
  })
  const party = createParty({ identity: key, crypto, transport: net.transport(), host })
  const events: PartyEvent[] = []
  party.on('event', (e) => events.push(e))
  await party.start()
  return { party, host, key, events }
}

/**
 * Two parties on a memory network (`net`, else a new one) in one new session: `limits` are a's,
 * `bLimits` b's. `stop` stops both.
 */
export async function sessionPair(
  crypto: CryptoBackend,
  options: { limits?: Partial<Limits>; bLimits?: Partial<Limits>; net?: MemoryNetwork } = {},
) {
  const net = options.net ?? network()
  const a = await makeParty(net, crypto, { limits: options.limits ?? {} })
  const b = await makeParty(net, crypto, { limits: options.bLimits ?? {} })
  const sid = randomSid(crypto)
  const participants = [a.party.id, b.party.id]
  const sa = a.party.session({ id: sid, participants })
  const sb = b.party.session({ id: sid, participants })
  const stop = async (): Promise<void> => {
    await a.party.stop()
    await b.party.stop()
  }
  return { net, a, b, sid, sa, sb, stop }
}

/** An attacker that holds a real identity and real links, and sends crafted bytes on them. */
export class RawPeer {
  readonly channels = new Map<PartyId, SecureChannel>()
  readonly received: Uint8Array[] = []
  readonly closes: { peer: PartyId; code: string }[] = []
  private readonly readyWaiters = new Map<PartyId, (r: HandshakeResult) => void>()
  readonly ready = new Set<PartyId>()
  epoch = new Uint8Array(16).fill(7)
  private seq = 0n
  /** Protocol versions its handshake offers (an older party offers fewer). */
  versions: readonly number[] | undefined

  constructor(
    readonly net: MemoryNetwork,
    readonly crypto: CryptoBackend,
    readonly key: SigningKey,
    readonly id: PartyId,
  ) {}

  static async create(
    net: MemoryNetwork,
    crypto: CryptoBackend,
    key?: SigningKey,
    id?: PartyId,
  ): Promise<RawPeer> {
    const k = key ?? (await generateIdentity(crypto)).key
    const peer = new RawPeer(
      net,
      crypto,
      k,
      id ?? ((await import('@conclave/core')).partyIdFromBytes(k.publicKey) as PartyId),
    )
    const t = net.transport()
    t.onLink((link) => peer.attach(link))
    await t.start(peer.id)
    peer.transport = t
    return peer
  }

  transport: ReturnType<MemoryNetwork['transport']> | undefined

  private attach(link: Link): void {
    const ch = new SecureChannel(
      {
        crypto: this.crypto,
        identity: this.key,
        expectedPeer: link.peer,
        initiator: link.initiator,
        mode: 'conclave',
        epoch: this.epoch,
        now: Date.now,
        maxFrameSize: link.maxMessageSize,
        versions: this.versions,
      },
      {
        sendFrame: (f) => {
          if (!link.closed) link.send(f)
        },
        ready: (r) => {
          // speak the delivery layer: this link's units are numbered from where we are
          ch.sendRecord({ type: RecordType.resume, seq: this.nextDelivery.get(r.peer) ?? 0n })
          this.ready.add(r.peer)
          this.readyWaiters.get(r.peer)?.(r)
        },
        unit: (u) => {
          this.received.push(u)
          return undefined
        },
        record: () => undefined,
        closed: (code) => {
          this.ready.delete(link.peer)
          this.closes.push({ peer: link.peer, code })
          link.close(code)
        },
      },
    )
    link.onMessage((f) => ch.receive(f))
    link.onClose(() => ch.close())
    this.channels.set(link.peer, ch)
    void ch.start()
  }

  /** Open a link to `peer` and wait for the handshake. */
  async link(peer: PartyId): Promise<SecureChannel> {
    const current = this.channels.get(peer)
    if (current?.isReady) return current
    const ready = new Promise<HandshakeResult>((resolve) => this.readyWaiters.set(peer, resolve))
    await this.transport!.connect(peer)
    await ready
    return this.channels.get(peer)!
  }

  /** A validly signed unit (any field overridable), returned as wire bytes. */
  async unit(
    fields: Partial<EnvelopeFields> & { sessionId: Uint8Array },
    recipient: Uint8Array,
    opts: { timestamp?: bigint; signer?: SigningKey; tag?: 'handshake' } = {},
  ): Promise<Uint8Array> {
    const payload = encodePayload({
      round: 1,
      kind: 'msg',
      from: partyIdToBytes(this.id),
      epoch: this.epoch,
      seq: this.seq++,
      body: new Uint8Array([1, 2, 3]),
      ...fields,
    })
    const timestamp = opts.timestamp ?? BigInt(Date.now())
    const signed = envelopeSignedBytes(payload, recipient, timestamp)
    if (opts.tag === 'handshake') {
      // same bytes after the tag, but under the handshake context's tag
      const envTag = new TextEncoder().encode('conclave/msg/v1\0')
      const hsTag = new TextEncoder().encode('conclave/v1/handshake\0')
      const rest = signed.subarray(envTag.length)
      const other = new Uint8Array(hsTag.length + rest.length)
      other.set(hsTag)
      other.set(rest, hsTag.length)
      return encodeUnit(
        payload,
        recipient,
        timestamp,
        await this.crypto.ed25519.sign(opts.signer ?? this.key, other),
      )
    }
    const sig = await this.crypto.ed25519.sign(opts.signer ?? this.key, signed)
    return encodeUnit(payload, recipient, timestamp, sig)
  }

  /**
   * A batch of validly signed envelopes (each item's fields overridable), as wire bytes. `sign`
   * may replace what is signed (the batch's signed bytes by default).
   */
  async batch(
    items: { fields: Partial<EnvelopeFields> & { sessionId: Uint8Array }; recipient: Uint8Array }[],
    opts: {
      signer?: SigningKey
      signed?: (real: Uint8Array) => Uint8Array
      /** `full` (0x80, default: it can carry anything) or `compact` (0x81, one sender, one recipient). */
      form?: 'full' | 'compact'
    } = {},
  ): Promise<Uint8Array> {
    const list = items.map(({ fields, recipient }) => ({
      payload: encodePayload({
        round: 1,
        kind: 'msg',
        from: partyIdToBytes(this.id),
        epoch: this.epoch,
        seq: this.seq++,
        body: new Uint8Array([1, 2, 3]),
        ...fields,
      }),
      recipient,
      timestamp: BigInt(Date.now()),
    }))
    const digests = new Uint8Array(32 * list.length)
    for (const [i, it] of list.entries())
      digests.set(sha256(envelopeSignedBytes(it.payload, it.recipient, it.timestamp)), 32 * i)
    const real = batchSignedBytes(digests)
    const sig = await this.crypto.ed25519.sign(opts.signer ?? this.key, opts.signed?.(real) ?? real)
    return opts.form === 'compact' ? encodeBatch(list, sig) : encodeFullBatch(list, sig)
  }

  send(peer: PartyId, bytes: Uint8Array): void {
    this.channels.get(peer)!.sendUnit(bytes)
    this.nextDelivery.set(peer, (this.nextDelivery.get(peer) ?? 0n) + 1n)
  }

  /** Delivery numbers used per peer (a raw peer never retransmits). */
  private readonly nextDelivery = new Map<PartyId, bigint>()

  sendRecord(peer: PartyId, rec: Record): void {
    this.channels.get(peer)!.sendRecord(rec)
  }
}

/** A fresh memory network. */
export const network = (): MemoryNetwork => createMemoryNetwork()

/** Session id bytes from a SessionId. */
export const sidBytes = (s: SessionId): Uint8Array => sessionIdToBytes(s)

/** Wait until `cond` holds (polling), or fail after `ms` (the test kit's `until`, arguments in this file's order). */
export const until = (cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> =>
  waitUntil(cond, what, ms)

export { randomSid }
