/**
 * The file outbox store: journal replay on open, compaction (on open and every N records), a
 * torn last line skipped with a warning, damage elsewhere refused with OUTBOX_CORRUPT.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PartyId, SessionId } from '@conclave/core'
import { encodeOutboxSnapshot, type OutboxRecord } from '@conclave/core/host'
import { createFileOutboxStore } from '@conclave/core/node'
import { afterEach, describe, expect, it } from 'vitest'

const P = 'b'.repeat(64) as PartyId
const SID = 'c'.repeat(64) as SessionId
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'))
  dirs.push(dir)
  return join(dir, 'party.outbox')
}

function enqueue(i: number): OutboxRecord {
  return {
    type: 'enqueue',
    sessionId: SID,
    stream: P,
    streamSeq: i,
    unit: new Uint8Array([i & 255, 1, 2, 3]),
    to: [{ peer: P, seq: i }],
  }
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean)

describe('file outbox store', () => {
  it('replays its journal on open, then compacts it into one snapshot line (mode 0600)', () => {
    const path = file()
    const a = createFileOutboxStore(path)
    a.append({ type: 'epoch', epoch: new Uint8Array(16).fill(1) })
    a.append({ type: 'open', session: { id: SID, participants: [P, 'a'.repeat(64) as PartyId] } })
    for (let i = 0; i < 10; i++) a.append(enqueue(i))
    a.append({ type: 'ack', peer: P, next: 7 })
    a.close()
    expect(lines(path)).toHaveLength(14) // the snapshot of an empty store, then 13 records
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const b = createFileOutboxStore(path)
    const st = b.load()
    expect([...st.peers.get(P)!.unacked.keys()]).toEqual([7, 8, 9])
    expect(st.sessions.get(SID)!.sent.get(P)).toBe(10)
    expect(lines(path)).toEqual([encodeOutboxSnapshot(st)])
    b.close()
  })

  it('compacts every `compactEvery` records', () => {
    const path = file()
    const s = createFileOutboxStore(path, { compactEvery: 50 })
    for (let i = 0; i < 120; i++) s.append(enqueue(i))
    expect(s.journaled).toBe(20)
    expect(lines(path)).toHaveLength(21)
    s.close()
    expect(createFileOutboxStore(path).load().peers.get(P)!.unacked.size).toBe(120)
  })

  it('skips a torn last line with a warning, and keeps working', () => {
    const path = file()
    const s = createFileOutboxStore(path)
    for (let i = 0; i < 3; i++) s.append(enqueue(i))
    s.close()
    appendFileSync(path, '{"type":"enqueue","sessionId":"cc') // the process died mid-write
    const warnings: string[] = []
    const t = createFileOutboxStore(path, { onWarning: (m) => warnings.push(m) })
    expect(t.tornLines).toBe(1)
    expect(warnings).toHaveLength(1)
    expect(t.load().peers.get(P)!.unacked.size).toBe(3)
    t.append(enqueue(3))
    t.close()
    expect(createFileOutboxStore(path).load().peers.get(P)!.unacked.size).toBe(4)
  })

  it('refuses a file damaged before its last line (OUTBOX_CORRUPT)', () => {
    const path = file()
    writeFileSync(path, '{"type":"epoch"\n{"type":"ack","peer":"x","next":1}\n')
    expect(() => createFileOutboxStore(path)).toThrowError(
      expect.objectContaining({ code: 'OUTBOX_CORRUPT' }),
    )
  })
})
