/**
 * The one JSON-lines child driver (src/testing/json-lines-child.ts) on real `node -e` children:
 * waits on past and future lines, takes in order, a failure line, the end of a child, stdin
 * commands, and a group that kills its children by PID.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isEvent } from '../src/events.ts'
import { ChildGroup, type JsonLine, spawnJsonLines } from '../src/testing/json-lines-child.ts'

const group = new ChildGroup()
afterEach(async () => {
  await group.killAll()
})

/** A child running `code` with `node -e`. */
const child = (code: string, stdin = false) =>
  spawnJsonLines<JsonLine>('t', '-e', [code], { group, stdin, context: { lines: 3, stderrChars: 200 } })

describe('JsonLinesChild', () => {
  it('waits for past and future lines; take returns each line once, in order; text stays text', async () => {
    const c = child(`
      const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n')
      out({ event: 'a', n: 1 }); out({ event: 'a', n: 2 }); process.stdout.write('plain words\\n')
      setTimeout(() => out({ event: 'b' }), 200)
      setTimeout(() => {}, 5000)`)
    expect((await c.waitFor((l) => l.event === 'b', 10_000)).event).toBe('b')
    expect(c.lines.find((l) => l.event === 'text')).toEqual({ event: 'text', text: 'plain words' })
    // waitFor does not consume: the same first line again
    expect((await c.waitFor((l) => l.event === 'a')).n).toBe(1)
    expect((await c.waitFor((l) => l.event === 'a')).n).toBe(1)
    expect((await c.take((l) => l.event === 'a')).n).toBe(1)
    expect((await c.take((l) => l.event === 'a')).n).toBe(2)
    await expect(c.take((l) => l.event === 'a', 100, '"a"')).rejects.toThrow(/t: no "a" within 100 ms/)
    await c.kill()
    expect(c.ended?.signal).toBe('SIGKILL')
    expect(group.live.size).toBe(0)
  })

  it('rejects a wait when the child ends first, with its last lines and stderr', async () => {
    const c = child(`console.log(JSON.stringify({ event: 'x' })); console.error('bye'); process.exit(3)`)
    await expect(c.waitFor((l) => l.event === 'never', 10_000, 'never line')).rejects.toThrow(
      /t: no never line before it ended \(code 3.*"x".*bye/s,
    )
    expect(await c.exited).toBe(3)
  })

  it('a failure line fails the pending waits; a listener takes its lines away from waits', async () => {
    const c = spawnJsonLines<JsonLine>(
      't',
      '-e',
      [
        `require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
          const { cmd } = JSON.parse(l)
          process.stdout.write(JSON.stringify({ event: cmd === 'boom' ? 'error' : 'heard', cmd }) + '\\n')
        })`,
      ],
      {
        group,
        stdin: true,
        failure: (l) => (l.event === 'error' ? new Error(`failed: ${String(l.cmd)}`) : undefined),
      },
    )
    const heard: unknown[] = []
    c.listen((l) => l.event === 'heard' && l.cmd === 'side' && heard.push(l.cmd) > 0)
    c.send({ cmd: 'side' })
    c.send({ cmd: 'main' })
    expect((await c.take((l) => l.event === 'heard', 10_000)).cmd).toBe('main')
    expect(heard).toEqual(['side'])
    const pending = c.take((l) => l.event === 'heard', 10_000)
    c.send({ cmd: 'boom' })
    await expect(pending).rejects.toThrow('failed: boom')
  })

  it('a group kills every child it holds by PID', async () => {
    const kids = [1, 2].map(() => child('setInterval(() => {}, 1000)'))
    expect(group.live.size).toBe(2)
    await group.killAll()
    expect(kids.map((k) => k.ended?.signal)).toEqual(['SIGKILL', 'SIGKILL'])
    expect(kids.every((k) => !k.running)).toBe(true)
  })

  it('isEvent narrows a CLI line to its event', () => {
    const line = { event: 'peer', peer: 'ab', state: 'ready', transport: 'webrtc', time: 't' } as const
    expect(isEvent('peer', (l) => l.state === 'ready')(line)).toBe(true)
    expect(isEvent('result')(line)).toBe(false)
  })
})
