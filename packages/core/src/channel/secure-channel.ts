/**
 * One end of an encrypted link: runs the handshake, then carries records in AEAD frames with
 * strictly increasing counters. Any bad frame closes the channel with its code; a fresh
 * handshake (a new channel) follows at the connection layer.
 * @module
 */
import type { BudgetAccount } from '../byte-budget.ts'
import { Writer } from '../bytes.ts'
import { ConclaveError, type ErrorCode, errorCode, isErrorCode } from '../errors.ts'
import type { PartyId } from '../ids.ts'
import {
  decodeFrame,
  decodeRecords,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FRAME_TAG_BYTES,
  FrameType,
  frameNonce,
  MAX_FRAME_BYTES,
  MIN_FRAME_BYTES,
  type Record,
  RecordType,
} from '../wire/frame.ts'
import { decodeHandshake, HandshakeType } from '../wire/handshake.ts'
import { Packer, Reassembler } from './framer.ts'
import { Handshake, type HandshakeParams, type HandshakeResult } from './handshake.ts'
import { messageChannelTurn, type NextTurn } from './next-turn.ts'

/** Channel options beyond the handshake's. */
export interface SecureChannelOptions extends HandshakeParams {
  /** Largest frame the link carries, header and tag included (capped at 64 KiB). */
  maxFrameSize: number
  /** Largest unit accepted or sent. @default 16 MiB */
  maxMessageBytes?: number
  /** Reassembly memory for this peer. @default maxMessageBytes */
  maxReassemblyBytes?: number
  /** The peer's account of a reassembly budget shared with other links. @default none */
  reassemblyBudget?: BudgetAccount
  /** Time allowed for each handshake step. @default 2000 */
  handshakeTimeoutMs?: number
  /** Frames after which the channel asks for a re-handshake. @default 2³² */
  rekeyAfterFrames?: bigint
  /**
   * Runs the flush of the records queued in one turn (they share frames).
   * @default messageChannelTurn (Node entries pass `setImmediateTurn`)
   */
  nextTurn?: NextTurn
}

/** What the channel tells its owner. */
export interface SecureChannelSink {
  /** Send one frame on the underlying link. */
  sendFrame(frame: Uint8Array): void
  ready(result: HandshakeResult): void
  /**
   * A whole envelope unit arrived (already decrypted and reassembled). Returns `true` when
   * nothing keeps `unit` or a view of it after the call (everything needed was copied out):
   * the channel may then reuse its memory.
   */
  unit(unit: Uint8Array): boolean | undefined
  /** A non-unit record (ack, ping, pong). */
  record(rec: Record): void
  /** The channel closed; `remote` when the peer sent the close. */
  closed(code: ErrorCode, reason: string, remote: boolean): void
}

const U64_LIMIT = 1n << 64n

/** One end of an encrypted link. */
export class SecureChannel {
  private readonly hs: Handshake
  private result: HandshakeResult | undefined
  private readonly maxFrame: number
  private readonly packer: Packer
  private readonly reassembler: Reassembler
  private sendCounter = 0n
  private recvCounter = 0n
  private handshakeCounter = 0n
  private state: 'new' | 'handshaking' | 'ready' | 'closed' = 'new'
  private inbound: Uint8Array[] = []
  private busy = false
  private flushScheduled = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly rekeyAfter: bigint
  readonly maxMessageBytes: number
  private readonly nextTurn: NextTurn

  constructor(
    private readonly opts: SecureChannelOptions,
    private readonly sink: SecureChannelSink,
  ) {
    if (!Number.isInteger(opts.maxFrameSize) || opts.maxFrameSize < MIN_FRAME_BYTES) {
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"maxFrameSize" expected an integer ≥ ${MIN_FRAME_BYTES}, got ${opts.maxFrameSize}`,
      )
    }
    this.maxFrame = Math.min(opts.maxFrameSize, MAX_FRAME_BYTES)
    this.maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024
    this.packer = new Packer(this.maxFrame)
    this.reassembler = new Reassembler(
      this.maxMessageBytes,
      opts.maxReassemblyBytes ?? this.maxMessageBytes,
      opts.reassemblyBudget,
    )
    this.hs = new Handshake(opts)
    this.rekeyAfter = opts.rekeyAfterFrames ?? 1n << 32n
    this.nextTurn = opts.nextTurn ?? messageChannelTurn
  }

  /** The authenticated peer, once ready. */
  get peer(): PartyId | undefined {
    return this.result?.peer
  }

  get isReady(): boolean {
    return this.state === 'ready'
  }

  get isClosed(): boolean {
    return this.state === 'closed'
  }

  /** Bytes held for a chunked unit in progress. */
  get reassemblyBytes(): number {
    return this.reassembler.bytesHeld
  }

  /** Frames sent under the current keys. */
  get framesSent(): bigint {
    return this.sendCounter
  }

  /** True once the channel has carried enough frames that it should be re-keyed. */
  get needsRekey(): boolean {
    return this.sendCounter >= this.rekeyAfter || this.recvCounter >= this.rekeyAfter
  }

  /** Send our hello. */
  async start(): Promise<void> {
    if (this.state !== 'new') return
    this.state = 'handshaking'
    this.armTimer()
    // A peer's hello may arrive while ours is being made (WebCrypto key import takes real
    // time): hold inbound frames until ours is out.
    this.busy = true
    try {
      const hello = await this.hs.hello()
      this.sendHandshake(hello)
    } catch (e) {
      this.busy = false
      this.fail(e)
      return
    }
    this.busy = false
    this.pump()
  }

  /** Feed one frame from the link. Frames are processed strictly in arrival order. */
  receive(frame: Uint8Array): void {
    if (this.state === 'closed') return
    this.inbound.push(frame)
    this.pump()
  }

  /** Queue an envelope unit; small ones are coalesced into one frame at the next flush. */
  sendUnit(unit: Uint8Array): void {
    if (unit.length > this.maxMessageBytes) {
      throw new ConclaveError(
        'MESSAGE_TOO_LARGE',
        `unit of ${unit.length} bytes exceeds ${this.maxMessageBytes}`,
      )
    }
    this.queue({ type: RecordType.unit, unit })
  }

  /** Queue a control record (ack, ping, pong). */
  sendRecord(rec: Record): void {
    this.queue(rec)
  }

  /** Records queued and not yet framed. */
  get queuedBytes(): number {
    return this.packer.pendingBytes
  }

  /** Close, telling the peer why when the channel is up. */
  close(code: ErrorCode = 'LINK_CLOSED', reason = ''): void {
    if (this.state === 'closed') return
    if (this.state === 'ready') {
      try {
        this.packer.push({ type: RecordType.close, code, reason: reason.slice(0, 200) })
        this.flush()
      } catch {
        // the link may already be gone: closing anyway
      }
    }
    this.finish(code, reason, false)
  }

  private queue(rec: Record): void {
    if (this.state === 'closed') throw new ConclaveError('LINK_CLOSED', 'channel closed')
    this.packer.push(rec)
    if (this.state === 'ready' && !this.flushScheduled) {
      this.flushScheduled = true
      this.nextTurn(() => this.flush())
    }
  }

  /** Encrypt and send everything queued now. */
  flush(): void {
    this.flushScheduled = false
    if (this.state !== 'ready' || this.packer.pending === 0) return
    const key = this.result!.sendKey
    // each plaintext is sealed as soon as it is packed, in one reused buffer
    this.packer.drainEach((plaintext) => {
      if (this.state !== 'ready') return
      if (this.sendCounter >= U64_LIMIT - 1n) {
        this.finish('LINK_CLOSED', 'frame counter exhausted', false)
        return
      }
      const counter = this.sendCounter++
      const header = encodeFrameHeader(FrameType.data, counter)
      // sealed behind room for the header: the frame is built without another copy
      const frame = this.opts.crypto.aead.seal(
        key,
        frameNonce(counter),
        header,
        plaintext,
        FRAME_HEADER_BYTES,
      )
      frame.set(header, 0)
      this.sink.sendFrame(frame)
    })
  }

  private sendHandshake(msg: Uint8Array): void {
    const frame = new Writer(FRAME_HEADER_BYTES + msg.length)
      .u8(FrameType.handshake)
      .u64(this.handshakeCounter++)
      .bytes(msg)
      .finish()
    this.sink.sendFrame(frame)
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    const ms = this.opts.handshakeTimeoutMs ?? 2000
    this.timer = setTimeout(() => {
      if (this.state === 'handshaking')
        this.finish('HANDSHAKE_TIMEOUT', `no handshake progress in ${ms} ms`, false)
    }, ms)
  }

  /** Process queued inbound frames; handshake steps are async, data frames synchronous. */
  private pump(): void {
    if (this.busy || this.state === 'new') return
    while (this.inbound.length > 0 && this.state !== 'closed') {
      const frame = this.inbound.shift()!
      if (this.state === 'handshaking') {
        this.busy = true
        this.onHandshakeFrame(frame).then(
          () => {
            this.busy = false
            this.pump()
          },
          (e: unknown) => {
            this.busy = false
            this.fail(e)
          },
        )
        return
      }
      try {
        this.onDataFrame(frame)
      } catch (e) {
        this.fail(e)
      }
    }
  }

  private expectedPeerHandshakeCounter = 0n

  private async onHandshakeFrame(frame: Uint8Array): Promise<void> {
    const raw = decodeFrame(frame)
    if (raw.type !== FrameType.handshake)
      throw new ConclaveError('FRAME_BEFORE_HANDSHAKE', 'data frame before the handshake completed')
    if (raw.counter !== this.expectedPeerHandshakeCounter++) {
      throw new ConclaveError('FRAME_BAD_COUNTER', `handshake frame counter ${raw.counter} out of order`)
    }
    const msg = decodeHandshake(raw.body)
    if (msg.type === HandshakeType.hello) {
      const auth = await this.hs.onHello(msg, raw.body)
      if (this.state !== 'handshaking') return
      this.sendHandshake(auth)
      this.armTimer()
      return
    }
    const result = await this.hs.onAuth(msg.signature)
    if (this.state !== 'handshaking') return
    this.result = result
    this.state = 'ready'
    if (this.timer) clearTimeout(this.timer)
    this.sink.ready(result)
    this.flush()
  }

  private onDataFrame(frame: Uint8Array): void {
    const raw = decodeFrame(frame)
    if (raw.type !== FrameType.data)
      throw new ConclaveError('HANDSHAKE_UNEXPECTED_MESSAGE', 'handshake frame after the handshake')
    if (raw.counter !== this.recvCounter) {
      throw new ConclaveError(
        'FRAME_BAD_COUNTER',
        `frame counter ${raw.counter}, expected ${this.recvCounter}`,
      )
    }
    if (frame.length > this.maxFrame)
      throw new ConclaveError('FRAME_TOO_LARGE', `frame of ${frame.length} bytes over ${this.maxFrame}`)
    if (raw.body.length < FRAME_TAG_BYTES)
      throw new ConclaveError('DECODE_SHORT_INPUT', 'frame shorter than its tag')
    const plaintext = this.opts.crypto.aead.open(
      this.result!.receiveKey,
      frameNonce(raw.counter),
      raw.header,
      raw.body,
    )
    this.recvCounter++
    for (const rec of decodeRecords(plaintext)) {
      if (this.state === 'closed') return
      switch (rec.type) {
        case RecordType.unit:
          this.sink.unit(rec.unit)
          break
        case RecordType.chunk: {
          const unit = this.reassembler.push(rec)
          if (unit && this.sink.unit(unit) === true) this.reassembler.release(unit)
          break
        }
        case RecordType.close:
          this.finish(isErrorCode(rec.code) ? rec.code : 'LINK_CLOSED', rec.reason, true)
          return
        default:
          this.sink.record(rec)
      }
    }
  }

  private fail(e: unknown): void {
    const code = errorCode(e) ?? 'LINK_CLOSED'
    const reason = e instanceof Error ? e.message : String(e)
    if (this.state === 'ready') this.close(code, reason)
    else this.finish(code, reason, false)
  }

  private finish(code: ErrorCode, reason: string, remote: boolean): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    if (this.timer) clearTimeout(this.timer)
    this.inbound = []
    this.reassembler.clear()
    this.sink.closed(code, reason, remote)
  }
}
