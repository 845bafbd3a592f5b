/**
 * The per-turn batch of calls that cross the Worker boundary, used on both sides: main → Worker
 * (the void `SessionHost` calls: links, frames, sessions opened and closed) and Worker → main
 * (the `HostSink` calls: frames to send, links to close or open, events). A round trip per frame
 * would cost more than the crypto it carries, so the calls of one turn go as one message, in
 * order, their byte arrays transferred.
 * @module
 */
import { TransferList } from './transfer.ts'
import type { BridgeCall } from './types.ts'

/** Sends one turn's calls; `buffers` is their transfer list. */
export type SendTurn = (calls: BridgeCall[], buffers: ArrayBuffer[]) => void

/** Collects the calls of a turn and sends them in a microtask, or at once on `flush()`. */
export class TurnBatch {
  private calls: BridgeCall[] = []
  private list = new TransferList()
  private scheduled = false

  constructor(private readonly send: SendTurn) {}

  /** The transfer list of the calls queued now (an op's `out` hook owns its bytes into it). */
  get transfers(): TransferList {
    return this.list
  }

  /** Queue a call; the batch goes at the end of this turn. */
  push(call: BridgeCall): void {
    this.calls.push(call)
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.flush()
    })
  }

  /** Send what is queued now (nothing when the queue is empty). */
  flush(): void {
    if (this.calls.length === 0) return
    const calls = this.calls
    const buffers = this.list.list()
    this.clear()
    this.send(calls, buffers)
  }

  /** Forget what is queued (the other side is gone). */
  clear(): void {
    this.calls = []
    this.list = new TransferList()
  }
}
