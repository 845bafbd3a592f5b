import { describe, expect, it } from 'vitest'
import { parseCommandLine, UsageError } from '../src/args.ts'

const base = ['run', '--signal', 'http://127.0.0.1:1', '--room', 'r', '--key', 'k.json']

describe('conclave-party arguments', () => {
  it('parses a run with a protocol, including a negative input', () => {
    const a = parseCommandLine(
      [...base, '--protocol', 'secure-sum', '--input', '-3', '--parties', '4', '--json'],
      {},
    )
    expect(a).toMatchObject({
      command: 'run',
      protocol: 'secure-sum',
      input: -3n,
      parties: 4,
      json: true,
      iceServers: [],
    })
  })

  it('takes ICE servers from the flag or the environment, never a default', () => {
    const ice = '[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]'
    expect(parseCommandLine(base, { CONCLAVE_ICE_SERVERS: ice })).toMatchObject({
      iceServers: [{ urls: 'turn:127.0.0.1:3478' }],
    })
    expect(parseCommandLine(base, {})).toMatchObject({ iceServers: [] })
  })

  it.each([
    [[...base, '--protocol', 'frost'], /--protocol/],
    [[...base, '--protocol', 'secure-sum'], /needs --input/],
    [[...base, '--parties', '1'], /--parties/],
    [[...base, '--input', '1.5'], /--input/],
    [['run', '--room', 'r'], /needs --signal/],
    [['run', '--signal', 'nope', '--room', 'r', '--key', 'k'], /--signal expected a URL/],
    [[...base, '--ice-servers', '{'], /--ice-servers/],
    [['launch'], /unknown command/],
    [[...base, '--bogus'], /bogus/],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrowError(UsageError)
    expect(() => parseCommandLine(argv, {})).toThrowError(message)
  })

  it('keygen needs --out', () => {
    expect(parseCommandLine(['keygen', '--out', 'x.json'], {})).toEqual({
      command: 'keygen',
      out: 'x.json',
      force: false,
    })
    expect(() => parseCommandLine(['keygen'], {})).toThrowError(UsageError)
  })
})

describe('follow mode', () => {
  it('takes --follow instead of --parties, and needs a protocol', () => {
    expect(
      parseCommandLine([...base, '--protocol', 'secure-sum', '--input', '1', '--follow'], {}),
    ).toMatchObject({ follow: true })
    expect(() => parseCommandLine([...base, '--follow'], {})).toThrowError(/--follow needs --protocol/)
  })
})

describe('transport mode', () => {
  it('defaults to webrtc and accepts relay and hybrid', () => {
    expect(parseCommandLine(base, {})).toMatchObject({ transport: 'webrtc' })
    expect(parseCommandLine([...base, '--transport', 'hybrid'], {})).toMatchObject({ transport: 'hybrid' })
    expect(() => parseCommandLine([...base, '--transport', 'carrier-pigeon'], {})).toThrowError(/--transport/)
  })
})
