/**
 * Conclave children as parties: identities, bringing a room up and down, sessions, and the
 * time span and CPU of their answers.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Child, Message } from './children.ts'
import { CONFIG } from './config.ts'
import { sleep } from './results.ts'
import type { Server } from './server.ts'
import { percentile } from './stats.ts'

/** A fresh random 32-byte id in hex (session ids). */
export const hexId = (): string => randomBytes(32).toString('hex')

/** A `conclave-peer.ts` child and the PartyId it has prepared. */
export interface ConclaveChild {
  child: Child
  id: string
}

/** A fresh identity in each of `list`. */
export async function prepare(list: Child[]): Promise<ConclaveChild[]> {
  const ids = await Promise.all(list.map((c) => c.ask('prepare', {}, 'prepared')))
  return list.map((child, i) => ({ child, id: String(ids[i]!.id) }))
}

/** Bring parties up in one fresh room; returns the time until all are connected and handshaken. */
export async function bringUp(
  server: Server,
  parties: ConclaveChild[],
  timeoutMs = 20_000,
): Promise<{ ms: number; registeredMs: number; firstReadyMs: number; ok: boolean; error?: string }> {
  const room = `bench-${randomBytes(6).toString('hex')}`
  const ids = parties.map((p) => p.id)
  const answers = await Promise.all(
    parties.map((p) =>
      p.child.ask(
        'up',
        { url: server.url, room, peers: ids.filter((x) => x !== p.id), timeoutMs },
        'up',
        timeoutMs + 5000,
      ),
    ),
  )
  const bad = answers.find((a) => a.ok !== true)
  const start = Math.min(...answers.map((a) => Number(a.t0)))
  const result = {
    ms: Math.max(...answers.map((a) => Number(a.tReady))) - start,
    registeredMs: Math.max(...answers.map((a) => Number(a.tRegistered))) - start,
    firstReadyMs: Math.min(...answers.map((a) => Number(a.tFirstReady))) - start,
    ok: !bad,
  }
  return bad ? { ...result, ms: Number.NaN, error: String(bad.error) } : result
}

/**
 * Stop the parties one after the other, after a quiet moment. wrtc segfaults in
 * RTCDataChannel::Send when a party sends (its close record, an acknowledgement) on a channel
 * whose other end has just closed its RTCPeerConnection (see README): parties stopping at the
 * same instant, or right after traffic, crash each other.
 */
export async function bringDown(parties: ConclaveChild[]): Promise<void> {
  // let the last acknowledgements (sent 10 ms after processing) go out before anyone stops
  await sleep(CONFIG.downGapMs)
  for (const p of parties) {
    await p.child.ask('down', {}, 'down', 15_000)
    await sleep(CONFIG.downGapMs)
  }
}

/** Open one fresh session among `parties`; its id. */
export async function openSession(parties: ConclaveChild[]): Promise<string> {
  const sid = hexId()
  const participants = parties.map((p) => p.id)
  await Promise.all(parties.map((p) => p.child.ask('session', { sid, participants }, 'session')))
  return sid
}

/** From the first party's start to the last party's result (`t0`, `t1` of each answer). */
export function spanMs(answers: Message[]): number {
  return Math.max(...answers.map((a) => Number(a.t1))) - Math.min(...answers.map((a) => Number(a.t0)))
}

/** The median of the children's `cpuUs`, in ms. */
export function medianCpuMs(answers: Message[]): number {
  return percentile(
    answers.map((a) => Number(a.cpuUs) / 1000),
    50,
  )
}
