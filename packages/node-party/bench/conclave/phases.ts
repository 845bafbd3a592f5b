/**
 * `phases`: the cost of each step of the message path, measured in this process without a
 * network (µs per operation).
 * @module
 */
import { createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { Packer } from '@conclave/core/channel'
import { createNobleBackend } from '@conclave/core/crypto'
import { generateIdentity } from '@conclave/core/node'
import {
  batchSignedBytes,
  decodeFrame,
  decodeRecords,
  decodeUnit,
  encodeFrameHeader,
  encodePayload,
  encodeUnit,
  envelopeSignedBytes,
  FRAME_HEADER_BYTES,
  FrameType,
  frameNonce,
  RecordType,
} from '@conclave/core/wire'
import { emit } from '../child-io.ts'
import { crypto, identity } from './party.ts'

/** Time `fn` over `n` runs (or until `maxMs`); returns µs per run. */
export async function perOp(n: number, fn: (i: number) => unknown, maxMs = 2000): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(i)
  const t0 = performance.now()
  let i = 0
  for (; i < n && performance.now() - t0 < maxMs; i++) await fn(i)
  return ((performance.now() - t0) * 1000) / i
}

/** µs per operation with `inFlight` operations in flight at once. */
export async function perOpParallel(
  n: number,
  inFlight: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  await Promise.all(Array.from({ length: inFlight }, (_, i) => fn(i)))
  const t0 = performance.now()
  for (let i = 0; i < n; i += inFlight) {
    await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, (_, j) => fn(i + j)))
  }
  return ((performance.now() - t0) * 1000) / n
}

/** The cost of each step of Conclave's message path, measured in this process (no network). */
export async function phases(): Promise<void> {
  const id = identity ?? (await generateIdentity(crypto))
  const key = await crypto.ed25519.generate()
  const aeadKey = crypto.randomBytes(32)
  const sessionId = crypto.randomBytes(32)
  const epoch = crypto.randomBytes(16)
  const recipient = crypto.randomBytes(32)
  const ts = BigInt(Date.now())
  const out: Record<string, number> = {}
  for (const size of [256, 65536]) {
    const body = crypto.randomBytes(size)
    const fields = { sessionId, round: 1, kind: 'msg', from: id.key.publicKey, epoch, seq: 1n, body }
    const payload = encodePayload(fields)
    const signed = envelopeSignedBytes(payload, recipient, ts)
    const signature = await crypto.ed25519.sign(key, signed)
    const unit = encodeUnit(payload, recipient, ts, signature)
    const reps = size > 1024 ? 500 : 3000
    out[`encode_${size}_us`] = await perOp(reps, () =>
      encodeUnit(encodePayload(fields), recipient, ts, signature),
    )
    out[`decode_${size}_us`] = await perOp(reps, () => decodeUnit(unit))
    out[`sign_${size}_us`] = await perOp(reps, () => crypto.ed25519.sign(key, signed))
    out[`sign_${size}_64inflight_us`] = await perOpParallel(reps, 64, () => crypto.ed25519.sign(key, signed))
    out[`verify_${size}_us`] = await perOp(reps, () =>
      crypto.ed25519.verify(key.publicKey, signed, signature),
    )
    out[`verify_${size}_64inflight_us`] = await perOpParallel(reps, 64, () =>
      crypto.ed25519.verify(key.publicKey, signed, signature),
    )
    // one frame's worth: the packer coalesces (256 B) or chunks (64 KiB), then AEAD per frame
    const units = size > 1024 ? 1 : Math.floor(60_000 / (unit.length + 5))
    const packer = new Packer(65536)
    let frames: Uint8Array[] = []
    out[`pack_${size}_per_unit_us`] =
      (await perOp(reps / 10, () => {
        for (let i = 0; i < units; i++) packer.push({ type: RecordType.unit, unit })
        frames = packer.drain()
      })) / units
    const plain = frames[0]!
    const header = encodeFrameHeader(FrameType.data, 7n)
    const sealed = crypto.aead.seal(aeadKey, frameNonce(7n), header, plain)
    out[`seal_frame_${plain.length}B_us`] = await perOp(reps / 10, () =>
      crypto.aead.seal(aeadKey, frameNonce(7n), header, plain),
    )
    const frame = new Uint8Array(FRAME_HEADER_BYTES + sealed.length)
    frame.set(header, 0)
    frame.set(sealed, FRAME_HEADER_BYTES)
    out[`open_frame_${plain.length}B_us`] = await perOp(reps / 10, () => {
      const raw = decodeFrame(frame)
      decodeRecords(crypto.aead.open(aeadKey, frameNonce(raw.counter), raw.header, raw.body))
    })
    out[`units_per_frame_${size}`] = units
    // in a batch (DESIGN "Envelope"): a SHA-256 per envelope and one signature for all of them
    const n = size > 1024 ? 16 : 256
    const items = Array.from({ length: n }, () => signed)
    const digestsOf = (): Uint8Array => {
      const d = new Uint8Array(32 * n)
      for (const [i, it] of items.entries()) d.set(crypto.sha256!([it]), 32 * i)
      return d
    }
    const batchSig = crypto.ed25519.signSync!(key, batchSignedBytes(digestsOf()))
    out[`batch_sign_${size}_per_unit_us`] =
      (await perOp(reps / n + 20, () => crypto.ed25519.signSync!(key, batchSignedBytes(digestsOf())))) / n
    out[`batch_verify_${size}_per_unit_us`] =
      (await perOp(reps / n + 20, () =>
        crypto.ed25519.verifySync!(key.publicKey, batchSignedBytes(digestsOf()), batchSig),
      )) / n
  }
  // for comparison: node:crypto's one-shot synchronous Ed25519 (no WebCrypto promise, no pool hop)
  const pair = generateKeyPairSync('ed25519')
  for (const size of [256, 65536]) {
    const msg = crypto.randomBytes(size + 150)
    const sig = nodeSign(null, msg, pair.privateKey)
    const reps = size > 1024 ? 500 : 3000
    out[`node_sync_sign_${size}_us`] = await perOp(reps, () => nodeSign(null, msg, pair.privateKey))
    out[`node_sync_verify_${size}_us`] = await perOp(reps, () => nodeVerify(null, msg, pair.publicKey, sig))
    // what a unit costs in a batch signature (DESIGN "Batch": one signature over SHA-256 digests)
    out[`sha256_unit_${size}_us`] = await perOp(reps, () => createHash('sha256').update(msg).digest())
  }
  // the noble backend (browsers without WebCrypto Ed25519; the signaling server's default verify)
  const noble = createNobleBackend()
  const nobleKey = await noble.ed25519.generate({ extractable: true })
  const nobleMsg = crypto.randomBytes(400)
  const nobleSig = await noble.ed25519.sign(nobleKey, nobleMsg)
  out.noble_verify_400_us = await perOp(300, () =>
    noble.ed25519.verify(nobleKey.publicKey, nobleMsg, nobleSig),
  )
  out.microtask_hop_us = await perOp(20_000, () => Promise.resolve())
  out.set_immediate_hop_us = await perOp(5000, () => new Promise<void>((r) => setImmediate(r)))
  out.ab_timeout_signal_us = await perOp(5000, () => AbortSignal.timeout(30_000))
  emit('phases', { us: out })
}
