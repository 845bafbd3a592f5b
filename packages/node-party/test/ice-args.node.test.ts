/**
 * The CLI's ICE flags (issue #20): `--ice-servers-file` (re-read per attempt), `--turn-url` +
 * `--turn-secret` + `--turn-ttl` (TURN REST credentials minted per attempt), their variables
 * and their usage errors; and the `iceServers` function the CLI builds from them (`src/ice.ts`).
 */
import { createHmac } from 'node:crypto'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkIceServers, type PartyId } from '@conclave/core'
import { afterEach, describe, expect, it } from 'vitest'
import { parseCommandLine, type RunArgs, UsageError } from '../src/args.ts'
import { iceServersOption, MAX_ICE_SERVERS_FILE_BYTES, readIceServersFile } from '../src/ice.ts'

const base = ['run', '--signal', 'http://127.0.0.1:1', '--room', 'r', '--key', 'k.json']
const turnUrl = 'turn:127.0.0.1:3478'
const peer = 'ab'.repeat(32) as PartyId

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  parseCommandLine([...base, ...argv], env) as RunArgs

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempFile(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-ice-'))
  dirs.push(dir)
  const file = join(dir, 'ice.json')
  await writeFile(file, content)
  return file
}

describe('conclave-party ICE flags', () => {
  it('takes a TURN server to mint credentials for, the secret best from the environment', () => {
    expect(run(['--turn-url', turnUrl], { CONCLAVE_TURN_SECRET: 's3cret' })).toMatchObject({
      iceServers: [],
      turn: { urls: [turnUrl], secret: 's3cret', ttlSeconds: 3600 },
    })
    expect(
      run(['--turn-url', `${turnUrl},turns:127.0.0.1:5349`, '--turn-secret', 'x', '--turn-ttl', '60']),
    ).toMatchObject({ turn: { urls: [turnUrl, 'turns:127.0.0.1:5349'], secret: 'x', ttlSeconds: 60 } })
    expect(
      run([], { CONCLAVE_TURN_URL: turnUrl, CONCLAVE_TURN_SECRET: 'e', CONCLAVE_TURN_TTL: '5' }),
    ).toMatchObject({ turn: { urls: [turnUrl], secret: 'e', ttlSeconds: 5 } })
    // none of them: no TURN server, and no credentials minted
    expect(run([])).not.toHaveProperty('turn')
  })

  it('takes an ICE servers file, from the flag or the environment', () => {
    expect(run(['--ice-servers-file', '/etc/ice.json'])).toMatchObject({
      iceServers: [],
      iceServersFile: '/etc/ice.json',
    })
    expect(run([], { CONCLAVE_ICE_SERVERS_FILE: 'ice.json' })).toMatchObject({ iceServersFile: 'ice.json' })
  })

  it.each<[string, string[], NodeJS.ProcessEnv, RegExp]>([
    ['a TURN URL without a secret', ['--turn-url', turnUrl], {}, /--turn-url and --turn-secret/],
    ['a secret without a TURN URL', [], { CONCLAVE_TURN_SECRET: 's' }, /--turn-url and --turn-secret/],
    ['a ttl without a TURN server', ['--turn-ttl', '60'], {}, /--turn-ttl needs/],
    ['an empty secret', ['--turn-url', turnUrl, '--turn-secret', ''], {}, /non-empty secret/],
    [
      'a STUN URL to mint for',
      ['--turn-url', 'stun:127.0.0.1'],
      { CONCLAVE_TURN_SECRET: 's' },
      /turn: or turns:/,
    ],
    ['a ttl of 0', ['--turn-url', turnUrl, '--turn-ttl', '0'], { CONCLAVE_TURN_SECRET: 's' }, /--turn-ttl/],
    [
      'a ttl over 7 days',
      ['--turn-url', turnUrl, '--turn-ttl', '604801'],
      { CONCLAVE_TURN_SECRET: 's' },
      /--turn-ttl/,
    ],
    [
      'a list and a file',
      ['--ice-servers', `[{"urls":"stun:127.0.0.1"}]`, '--ice-servers-file', 'f'],
      {},
      /one or the other/,
    ],
    [
      'a TURN server without credentials',
      ['--ice-servers', `[{"urls":"${turnUrl}"}]`],
      {},
      /--ice-servers.*"username"/,
    ],
    ['a list that is not an array', ['--ice-servers', `{"urls":"${turnUrl}"}`], {}, /--ice-servers/],
  ])('refuses %s with a usage error', (_what, argv, env, message) => {
    expect(() => run(argv, env)).toThrowError(UsageError)
    expect(() => run(argv, env)).toThrowError(message)
  })

  it('never puts the secret in a usage error', () => {
    const secret = 'do-not-print-me'
    for (const argv of [
      ['--turn-url', 'stun:x'],
      ['--turn-url', turnUrl, '--turn-ttl', 'soon'],
    ]) {
      expect(() => run(argv, { CONCLAVE_TURN_SECRET: secret })).toThrowError(UsageError)
      try {
        run(argv, { CONCLAVE_TURN_SECRET: secret })
      } catch (e) {
        expect((e as Error).message).not.toContain(secret)
      }
    }
  })
})

describe('the iceServers the CLI builds', () => {
  it('is the fixed list itself when nothing must be fresh', async () => {
    const list = [{ urls: 'stun:127.0.0.1:3478' }]
    expect(await iceServersOption({ iceServers: list }, 'me')).toBe(list)
  })

  it('mints TURN REST credentials on every call, valid for the ttl, that coturn would check', async () => {
    const option = await iceServersOption(
      {
        iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
        turn: { urls: [turnUrl], secret: 's3cret', ttlSeconds: 2 },
      },
      'party-1',
    )
    if (typeof option !== 'function') throw new Error('expected a function')
    const first = await option(peer)
    await new Promise((r) => setTimeout(r, 1100))
    const second = await option(peer)
    for (const list of [first, second]) {
      expect(checkIceServers(list)).toHaveLength(2)
      expect(list[0]).toEqual({ urls: 'stun:127.0.0.1:3478' })
      const { username, credential } = list[1] as { username: string; credential: string }
      const [expiry, id] = username.split(':')
      expect(id).toBe('party-1')
      expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(-0.5)
      expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(2)
      // what coturn computes from its static-auth-secret
      expect(credential).toBe(createHmac('sha1', 's3cret').update(username).digest('base64'))
    }
    // a second later: a later expiry, so a new username
    expect((second[1] as { username: string }).username).not.toBe((first[1] as { username: string }).username)
  })

  it('re-reads the ICE servers file on every call (a rotated file is used from the next attempt)', async () => {
    const file = await tempFile(JSON.stringify([{ urls: turnUrl, username: 'u1', credential: 'p1' }]))
    const option = await iceServersOption({ iceServers: [], iceServersFile: file }, 'me')
    if (typeof option !== 'function') throw new Error('expected a function')
    expect(await option(peer)).toEqual([{ urls: turnUrl, username: 'u1', credential: 'p1' }])
    // rotated atomically, as the help says
    await writeFile(`${file}.new`, JSON.stringify([{ urls: turnUrl, username: 'u2', credential: 'p2' }]))
    await rename(`${file}.new`, file)
    expect(await option(peer)).toEqual([{ urls: turnUrl, username: 'u2', credential: 'p2' }])
    // broken meanwhile: that call fails (the transport fails the attempt and retries)
    await writeFile(file, '[{"urls":')
    await expect(option(peer)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('checks the file once before the run, naming it', async () => {
    await expect(
      iceServersOption({ iceServers: [], iceServersFile: '/nonexistent/ice.json' }, 'me'),
    ).rejects.toThrowError(/\/nonexistent\/ice\.json/)
    const noCredentials = await tempFile(JSON.stringify([{ urls: turnUrl }]))
    await expect(
      iceServersOption({ iceServers: [], iceServersFile: noCredentials }, 'me'),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    const huge = await tempFile(`[${' '.repeat(MAX_ICE_SERVERS_FILE_BYTES)}]`)
    await expect(readIceServersFile(huge)).rejects.toThrowError(/more than/)
  })
})
