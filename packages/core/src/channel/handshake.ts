/**
 * The handshake of one link: hello/auth with X25519, transcript-bound Ed25519 auth, HKDF keys.
 * Pure protocol logic: the secure channel feeds it messages and sends what it returns.
 * @module
 */
import { equalBytes } from '../bytes.ts'
import type { CryptoBackend, EphemeralKey, SigningKey } from '../crypto/types.ts'
import { ConclaveError, type ErrorCode } from '../errors.ts'
import { type PartyId, partyIdFromBytes } from '../ids.ts'
import {
  authSignedBytes,
  type DirectionKeys,
  deriveKeys,
  encodeAuth,
  encodeHello,
  type Hello,
  PROTOCOL_VERSIONS,
  Role,
  transcriptHash,
} from '../wire/handshake.ts'

/** What a link tells the handshake. */
export interface HandshakeParams {
  crypto: CryptoBackend
  identity: SigningKey
  /** Whom this link is meant to reach. */
  expectedPeer: PartyId
  initiator: boolean
  mode: string
  epoch: Uint8Array
  now: () => number
  /** Fingerprints the transport sees (`webrtc` only): both lists sorted `alg HEX`. */
  fingerprints?: { local: string[]; remote: string[] } | undefined
  /** Returns a refusal code when `peer` may not connect (roster, bans). */
  admit?: ((peer: PartyId) => ErrorCode | undefined) | undefined
  /** Fixed ephemeral secret and nonce: test vectors only. */
  fixed?: { ephemeralSecret: Uint8Array; nonce: Uint8Array; clock: bigint } | undefined
  /** Protocol versions offered and accepted. @default PROTOCOL_VERSIONS (tests offer fewer, as an older party would) */
  versions?: readonly number[] | undefined
}

/** The outcome of a completed handshake. */
export interface HandshakeResult {
  peer: PartyId
  /** The peer's 32-byte public key (its PartyId's bytes), kept so no unit re-parses the hex. */
  peerKey: Uint8Array
  version: number
  sendKey: Uint8Array
  receiveKey: Uint8Array
  peerEpoch: Uint8Array
  /** Peer clock minus ours at hello receipt (ms). */
  clockOffsetMs: number
  transcript: Uint8Array
}

/** Handshake state machine for one side. */
export class Handshake {
  private ephemeral: EphemeralKey | undefined
  private ownHello: Uint8Array | undefined
  private peerHello: Hello | undefined
  private transcript: Uint8Array | undefined
  private keys: DirectionKeys | undefined
  private version = 0
  private clockOffsetMs = 0

  constructor(private readonly p: HandshakeParams) {}

  private get role(): Role {
    return this.p.initiator ? Role.initiator : Role.responder
  }

  /** Our hello message. */
  async hello(): Promise<Uint8Array> {
    const { crypto, identity, fixed } = this.p
    this.ephemeral = fixed
      ? await crypto.x25519.importSecret(fixed.ephemeralSecret)
      : await crypto.x25519.generate()
    const fp = this.p.fingerprints
    this.ownHello = encodeHello({
      versions: [...(this.p.versions ?? PROTOCOL_VERSIONS)],
      partyId: identity.publicKey,
      ephemeral: this.ephemeral.publicKey,
      nonce: fixed ? fixed.nonce : crypto.randomBytes(32),
      mode: this.p.mode,
      clock: fixed ? fixed.clock : BigInt(Math.floor(this.p.now())),
      epoch: this.p.epoch,
      localFingerprints: fp ? [...fp.local].sort() : [],
      remoteFingerprints: fp ? [...fp.remote].sort() : [],
    })
    return this.ownHello
  }

  /**
   * Check the peer's hello and return our auth message.
   * @throws ConclaveError with the refusal's code
   */
  async onHello(hello: Hello, helloBytes: Uint8Array): Promise<Uint8Array> {
    if (!this.ownHello || !this.ephemeral)
      throw new ConclaveError('HANDSHAKE_UNEXPECTED_MESSAGE', 'hello before our own')
    if (this.peerHello) throw new ConclaveError('HANDSHAKE_UNEXPECTED_MESSAGE', 'second hello')
    const ours = this.p.versions ?? PROTOCOL_VERSIONS
    const common = hello.versions.filter((v) => ours.includes(v))
    if (common.length === 0) {
      throw new ConclaveError(
        'HANDSHAKE_VERSION_MISMATCH',
        `no common protocol version (peer: ${hello.versions.join(',')})`,
      )
    }
    this.version = Math.max(...common)
    if (equalBytes(hello.partyId, this.p.identity.publicKey))
      throw new ConclaveError('HANDSHAKE_SELF', 'peer claims our own id')
    const peer = partyIdFromBytes(hello.partyId)
    if (peer !== this.p.expectedPeer) {
      throw new ConclaveError(
        'HANDSHAKE_UNEXPECTED_PEER',
        `expected ${this.p.expectedPeer.slice(0, 16)}…, got ${peer.slice(0, 16)}…`,
        {
          expected: this.p.expectedPeer,
          got: peer,
        },
      )
    }
    this.p.crypto.ed25519.assertValidPublicKey(hello.partyId)
    const refusal = this.p.admit?.(peer)
    if (refusal) throw new ConclaveError(refusal, `peer ${peer.slice(0, 16)}… refused`, { peer })
    if (hello.mode !== this.p.mode) {
      throw new ConclaveError(
        'HANDSHAKE_MODE_MISMATCH',
        `mode ${JSON.stringify(hello.mode)} does not match ${JSON.stringify(this.p.mode)}`,
      )
    }
    const fp = this.p.fingerprints
    if (fp) {
      const mine = { local: [...fp.local].sort(), remote: [...fp.remote].sort() }
      if (
        !sameList(hello.localFingerprints, mine.remote) ||
        !sameList(hello.remoteFingerprints, mine.local)
      ) {
        throw new ConclaveError('FINGERPRINT_MISMATCH', 'DTLS fingerprints differ between the two ends', {
          peer,
        })
      }
    }
    this.peerHello = hello
    this.clockOffsetMs = Number(hello.clock) - this.p.now()
    const [hI, hR] = this.p.initiator ? [this.ownHello, helloBytes] : [helloBytes, this.ownHello]
    this.transcript = transcriptHash(hI, hR)
    const shared = await this.p.crypto.x25519.sharedSecret(this.ephemeral, hello.ephemeral)
    this.keys = deriveKeys(shared, this.transcript)
    const sig = await this.p.crypto.ed25519.sign(this.p.identity, authSignedBytes(this.role, this.transcript))
    return encodeAuth(sig)
  }

  /**
   * Verify the peer's auth and return the session keys.
   * @throws ConclaveError `HANDSHAKE_BAD_SIGNATURE`, `HANDSHAKE_UNEXPECTED_MESSAGE`
   */
  async onAuth(signature: Uint8Array): Promise<HandshakeResult> {
    const hello = this.peerHello
    if (!hello || !this.transcript || !this.keys)
      throw new ConclaveError('HANDSHAKE_UNEXPECTED_MESSAGE', 'auth before hello')
    const peerRole = this.p.initiator ? Role.responder : Role.initiator
    const ok = await this.p.crypto.ed25519.verify(
      hello.partyId,
      authSignedBytes(peerRole, this.transcript),
      signature,
    )
    if (!ok) {
      // the transcript holds both hellos as this end sent and received them, fingerprint lists
      // included: a relay that rewrote a hello (to pass the fingerprint check) ends here
      const peer = partyIdFromBytes(hello.partyId)
      throw new ConclaveError(
        'HANDSHAKE_BAD_SIGNATURE',
        `handshake auth of ${peer.slice(0, 16)}… does not verify over the transcript: a hello was altered on the way (fingerprints included), or the auth is not the peer's`,
        { peer },
      )
    }
    const { initiatorToResponder: i2r, responderToInitiator: r2i } = this.keys
    return {
      peer: partyIdFromBytes(hello.partyId),
      peerKey: hello.partyId.slice(),
      version: this.version,
      sendKey: this.p.initiator ? i2r : r2i,
      receiveKey: this.p.initiator ? r2i : i2r,
      peerEpoch: hello.epoch,
      clockOffsetMs: this.clockOffsetMs,
      transcript: this.transcript,
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const sa = [...a].sort()
  const sb = [...b].sort()
  return sa.every((x, i) => x === sb[i])
}
