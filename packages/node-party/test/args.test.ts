import { describe, expect, it } from 'vitest'
import { ENVIRONMENT, HELP, parseCommandLine, UsageError } from '../src/args.ts'

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

  it('a frost-dkg follower still needs --parties: the group size is part of the key, not the proposer’s choice', () => {
    const dkg = [...base, '--protocol', 'frost-dkg', '--threshold', '2', '--share', 's.json', '--follow']
    expect(() => parseCommandLine(dkg, {})).toThrowError(/frost-dkg needs --parties N/)
    expect(parseCommandLine([...dkg, '--parties', '3'], {})).toMatchObject({ follow: true, parties: 3 })
  })
})

describe('transport mode', () => {
  it('defaults to webrtc and accepts relay and hybrid', () => {
    expect(parseCommandLine(base, {})).toMatchObject({ transport: 'webrtc' })
    expect(parseCommandLine([...base, '--transport', 'hybrid'], {})).toMatchObject({ transport: 'hybrid' })
    expect(() => parseCommandLine([...base, '--transport', 'carrier-pigeon'], {})).toThrowError(/--transport/)
  })
})

describe('environment variables', () => {
  const env = {
    CONCLAVE_SIGNAL: 'http://127.0.0.1:2,http://127.0.0.1:3',
    CONCLAVE_ROOM: 'env-room',
    CONCLAVE_KEY: 'env.json',
    CONCLAVE_ROSTER: 'roster.json',
    CONCLAVE_PROTOCOL: 'secure-sum',
    CONCLAVE_INPUT: '-7',
    CONCLAVE_PARTIES: '3',
    CONCLAVE_ROUND_TIMEOUT: '5000',
    CONCLAVE_TIMEOUT: '60000',
    CONCLAVE_TRANSPORT: 'hybrid',
    CONCLAVE_LABEL: 'from-env',
    CONCLAVE_OUTBOX: 'outbox.json',
  }

  it('gives every main option of run without a flag', () => {
    expect(parseCommandLine(['run'], env)).toMatchObject({
      signal: 'http://127.0.0.1:2',
      signalUrls: ['http://127.0.0.1:3'],
      room: 'env-room',
      key: 'env.json',
      roster: 'roster.json',
      protocol: 'secure-sum',
      input: -7n,
      parties: 3,
      roundTimeoutMs: 5000,
      timeoutMs: 60_000,
      transport: 'hybrid',
      label: 'from-env',
      outbox: 'outbox.json',
    })
  })

  it('keeps its state next to the key unless --state or CONCLAVE_STATE says where (#16 item 6)', () => {
    expect(parseCommandLine(['run'], env)).toMatchObject({ state: 'env.json.state' })
    expect(parseCommandLine(['run'], { ...env, CONCLAVE_STATE: 'st' })).toMatchObject({ state: 'st' })
    expect(parseCommandLine(['run', '--state', 'flag-st'], { ...env, CONCLAVE_STATE: 'st' })).toMatchObject({
      state: 'flag-st',
    })
  })

  it('a flag wins over its variable', () => {
    const a = parseCommandLine(
      [...base, '--input', '2', '--parties', '5', '--transport', 'relay', '--label', 'flag'],
      env,
    )
    expect(a).toMatchObject({
      signal: 'http://127.0.0.1:1',
      signalUrls: [],
      room: 'r',
      key: 'k.json',
      input: 2n,
      parties: 5,
      transport: 'relay',
      label: 'flag',
      // what no flag gave still comes from the environment
      protocol: 'secure-sum',
      timeoutMs: 60_000,
    })
  })

  it('checks values from the environment as it checks flags, naming the variable', () => {
    expect(() => parseCommandLine(['run'], { ...env, CONCLAVE_PARTIES: '1' })).toThrowError(
      /CONCLAVE_PARTIES expected an integer/,
    )
    expect(() => parseCommandLine(['run'], { ...env, CONCLAVE_TRANSPORT: 'pigeon' })).toThrowError(
      /--transport/,
    )
    expect(() => parseCommandLine(['run'], { CONCLAVE_ROOM: 'r', CONCLAVE_KEY: 'k' })).toThrowError(
      /CONCLAVE_SIGNAL/,
    )
    // an empty variable counts as unset
    expect(() => parseCommandLine(['run'], { ...env, CONCLAVE_ROOM: '' })).toThrowError(/needs --signal/)
  })

  it('--help lists every variable with its flag', () => {
    expect(parseCommandLine(['--help'], env)).toEqual({ command: 'help' })
    for (const [flag, name] of Object.entries(ENVIRONMENT)) {
      expect(HELP).toMatch(new RegExp(`^  ${name} +--${flag}$`, 'm'))
    }
    expect(Object.values(ENVIRONMENT)).toEqual(
      expect.arrayContaining(['CONCLAVE_SIGNAL', 'CONCLAVE_ROOM', 'CONCLAVE_KEY', 'CONCLAVE_ICE_SERVERS']),
    )
  })

  it('keygen does not read the run variables for its required --out', () => {
    expect(() => parseCommandLine(['keygen'], env)).toThrowError(/keygen needs --out/)
    expect(parseCommandLine(['keygen', '--out', 'x.json'], env)).toEqual({
      command: 'keygen',
      out: 'x.json',
      force: false,
    })
  })
})
