/**
 * One end of an encrypted link: runs the handshake, then carries records in AEAD frames with
 * strictly increasing counters. Any bad frame closes the channel with its code; a fresh
 * handshake (a new channel) follows at the connection layer.
 *
 * Re-keying (DESIGN "Frames"): once either counter reaches `rekeyAfterFrames`, or the keys are
 * `rekeyAfterMs` old, the channel closes itself with `REKEY_DUE`, and a new link brings new
 * keys. That close is a half-close: the side that starts it sends what is queued (its owner adds
 * an ack, `SecureChannelSink.rekeying`) and its close record, then stops sending but still reads
 * the peer's frames until the peer's own close arrives (or one handshake step's time passes).
 * The peer answers a `REKEY_DUE` close at once with its queued records and its own close. So
 * what each side processed on the old link is acknowledged on it: even a backlog of more frames
 * than the bound moves on by at least the bound on every link.
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
  /**
   * Frames sent, or received, under one pair of keys after which the channel closes itself
   * with `REKEY_DUE` to be re-keyed (checked after each flush and each frame received: a flush
   * under way is finished first). @default 2³²
   */
  rekeyAfterFrames?: bigint
  /**
   * Age of the keys (ms since the handshake completed, on the `now` clock) after which the
   * channel closes itself with `REKEY_DUE`, checked whenever a frame is sent or received (the
   * host's keepalive makes a ready link carry one every few seconds). @default 24 h
   */
  rekeyAfterMs?: number
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
  /**
   * The channel is about to close itself to be re-keyed (`REKEY_DUE`), or to answer the peer's
   * re-key close, and can still send: queue now what must go with its close record (an ack of
   * what was processed, so the peer need not send it again on the next link).
   */
  rekeying?(): void
}

const U64_LIMIT = 1n << 64n
/** Default frame bound of one pair of keys (DESIGN "Defaults", Noise's re-key guidance). */
export const DEFAULT_REKEY_AFTER_FRAMES = 1n << 32n
/** Default age bound of one pair of keys (ms). */
export const DEFAULT_REKEY_AFTER_MS = 24 * 60 * 60 * 1000

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
  /** `closing`: a re-key close was sent; the peer's frames are still read until its close. */
  private state: 'new' | 'handshaking' | 'ready' | 'closing' | 'closed' = 'new'
  private inbound: Uint8Array[] = []
  private busy = false
  private flushScheduled = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly rekeyAfter: bigint
  private readonly rekeyAfterMs: number
  /** When the handshake completed (on `opts.now`). */
  private readyAt = 0
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
    this.rekeyAfter = opts.rekeyAfterFrames ?? DEFAULT_REKEY_AFTER_FRAMES
    this.rekeyAfterMs = opts.rekeyAfterMs ?? DEFAULT_REKEY_AFTER_MS
    if (this.rekeyAfter < 1n)
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"rekeyAfterFrames" expected 1 or more, got ${this.rekeyAfter}`,
      )
    if (!(this.rekeyAfterMs > 0))
      throw new ConclaveError(
        'INVALID_ARGUMENT',
        `"rekeyAfterMs" expected more than 0, got ${this.rekeyAfterMs}`,
      )
    this.nextTurn = opts.nextTurn ?? messageChannelTurn
  }

  /** The authenticated peer, once ready. */
  get peer(): PartyId | undefined {
    return this.result?.peer
  }

  get isReady(): boolean {
    return this.state === 'ready'
  }

  /** True once nothing more can be sent: closed, or closing to be re-keyed. */
  get isClosed(): boolean {
    return this.state === 'closed' || this.state === 'closing'
  }

  /** Bytes held for a chunked unit in progress. */
  get reassemblyBytes(): number {
    return this.reassembler.bytesHeld
  }

  /** Frames sent under the current keys. */
  get framesSent(): bigint {
    return this.sendCounter
  }

  /** Frames received under the current keys. */
  get framesReceived(): bigint {
    return this.recvCounter
  }

  /**
   * Why the keys are due to be replaced (a frame bound reached, or their age), or undefined.
   * Read when the channel is ready; it then closes itself with `REKEY_DUE`.
   */
  get rekeyDue(): string | undefined {
    if (this.sendCounter >= this.rekeyAfter) return `${this.sendCounter} frames sent under these keys`
    if (this.recvCounter >= this.rekeyAfter) return `${this.recvCounter} frames received under these keys`
    const age = this.opts.now() - this.readyAt
    if (this.state === 'ready' && age >= this.rekeyAfterMs) return `keys ${age} ms old`
    return undefined
  }

  /** True once the channel has carried enough frames, or lived long enough, to be re-keyed. */
  get needsRekey(): boolean {
    return this.rekeyDue !== undefined
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

  /**
   * Queue a control record (ack, ping, pong). While the channel is closing to be re-keyed it
   * sends nothing more, and such a record is dropped (the next link says it again).
   */
  sendRecord(rec: Record): void {
    if (this.state === 'closing') return
    this.queue(rec)
  }

  /** Records queued and not yet framed. */
  get queuedBytes(): number {
    return this.packer.pendingBytes
  }

  /**
   * Close, telling the peer why when the channel is up. On a channel closing to be re-keyed,
   * an ordinary end (`LINK_CLOSED`, `LINK_LOST`: the link went, or was replaced) is reported as
   * `REKEY_DUE`, any other code as itself.
   */
  close(code: ErrorCode = 'LINK_CLOSED', reason = ''): void {
    if (this.state === 'closed') return
    if (this.state === 'closing') {
      this.finish(code === 'LINK_CLOSED' || code === 'LINK_LOST' ? 'REKEY_DUE' : code, reason, false)
      return
    }
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
    if (this.state === 'closed' || this.state === 'closing')
      throw new ConclaveError('LINK_CLOSED', `channel ${this.state}`)
    this.packer.push(rec)
    if (this.state === 'ready' && !this.flushScheduled) {
      this.flushScheduled = true
      this.nextTurn(() => this.flush())
    }
  }

  /** Encrypt and send everything queued now; then close to be re-keyed if the keys are due. */
  flush(): void {
    this.flushScheduled = false
    if (this.state !== 'ready' || this.packer.pending === 0) return
    this.seal()
    this.rekeyIfDue()
  }

  /** Seal and send every queued record (the state is `ready`). */
  private seal(): void {
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

  /** Start the re-key close when a bound is reached (the channel is ready). */
  private rekeyIfDue(): void {
    if (this.state !== 'ready') return
    const due = this.rekeyDue
    if (due !== undefined) this.rekey(due)
  }

  /**
   * Half-close to be re-keyed: send what is queued, with the owner's ack, and a `REKEY_DUE`
   * close record; then read the peer's frames until its close, for one handshake step at most.
   */
  private rekey(reason: string): void {
    this.sendRekeyClose(reason)
    if (this.state !== 'ready') return
    this.state = 'closing'
    const ms = this.opts.handshakeTimeoutMs ?? 2000
    this.timer = setTimeout(() => {
      if (this.state === 'closing')
        this.finish('REKEY_DUE', `${reason}; the peer did not close in ${ms} ms`, false)
    }, ms)
  }

  /** Queue the owner's last records and a `REKEY_DUE` close, and send them now. */
  private sendRekeyClose(reason: string): void {
    try {
      this.sink.rekeying?.()
    } catch {
      // nothing to add: the close goes anyway
    }
    if (this.state !== 'ready') return
    this.packer.push({ type: RecordType.close, code: 'REKEY_DUE', reason: reason.slice(0, 200) })
    this.seal()
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
    this.readyAt = this.opts.now()
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
        case RecordType.close: {
          const code = isErrorCode(rec.code) ? rec.code : 'LINK_CLOSED'
          // the peer re-keys: answer with what is queued (an ack) and our own close
          if (code === 'REKEY_DUE' && this.state === 'ready') this.sendRekeyClose('answering the peer')
          this.finish(code, rec.reason, true)
          return
        }
        default:
          this.sink.record(rec)
      }
    }
    this.rekeyIfDue()
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
