import { describe, expect, it } from 'vitest'
import { createTokenBucket, DEFAULT_CONFIG, parseCommandLine, resolveConfig } from '../src/index.ts'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (e) {
    return (e as { code?: string }).code
  }
}

describe('configuration', () => {
  it('has documented defaults', () => {
    const config = resolveConfig()
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      maxPayloadBytes: 65536,
      eventsPerSecond: 100,
      eventBurst: 200,
      roomsPerSocket: 16,
      partiesPerRoom: 128,
      heartbeatTimeoutMs: 60_000,
    })
    expect(config.origin).toBeUndefined()
    expect(DEFAULT_CONFIG.maxPayloadBytes).toBe(64 * 1024)
  })

  it('reads flags and environment variables, flags first', () => {
    const cl = parseCommandLine(['--port', '0', '--rooms-per-socket=3', '--events-per-second', '10'], {
      CONCLAVE_SIGNAL_PORT: '9999',
      CONCLAVE_SIGNAL_HOST: '::1',
      CONCLAVE_SIGNAL_PARTIES_PER_ROOM: '7',
      CONCLAVE_SIGNAL_ORIGIN: 'https://signal.example.org/ignored/path',
    })
    expect(cl.help).toBe(false)
    if (cl.help) return
    expect(cl.config).toMatchObject({
      port: 0,
      host: '::1',
      roomsPerSocket: 3,
      partiesPerRoom: 7,
      eventsPerSecond: 10,
      eventBurst: 20,
      origin: 'https://signal.example.org',
    })
  })

  it('reads the registry token from the flag or CONCLAVE_SIGNAL_REGISTRY_TOKEN; none by default', () => {
    const token = 'x'.repeat(16)
    const fromEnv = parseCommandLine([], { CONCLAVE_SIGNAL_REGISTRY_TOKEN: token })
    expect(fromEnv.help === false && fromEnv.config.registryToken).toBe(token)
    const fromFlag = parseCommandLine(['--registry-token', `${token}-flag`], {
      CONCLAVE_SIGNAL_REGISTRY_TOKEN: token,
    })
    expect(fromFlag.help === false && fromFlag.config.registryToken).toBe(`${token}-flag`)
    expect(resolveConfig().registryToken).toBeUndefined()
    for (const bad of ['short', 'has a space in it here', 'é'.repeat(20)]) {
      let message = ''
      try {
        resolveConfig({ registryToken: bad })
      } catch (e) {
        expect((e as { code?: string }).code).toBe('INVALID_ARGUMENT')
        message = (e as Error).message
      }
      expect(message).toMatch(/registryToken/)
      // a secret is never echoed back
      expect(message).not.toContain(bad)
    }
  })

  it('answers --help', () => {
    expect(parseCommandLine(['--help'])).toEqual({ help: true })
  })

  it('refuses unknown flags and bad values with INVALID_ARGUMENT', () => {
    expect(codeOf(() => parseCommandLine(['--nope']))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => parseCommandLine(['--port', '-1']))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => parseCommandLine(['--port', '70000']))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => parseCommandLine([], { CONCLAVE_SIGNAL_MAX_PAYLOAD_BYTES: '1.5' }))).toBe(
      'INVALID_ARGUMENT',
    )
    expect(codeOf(() => parseCommandLine(['--origin', 'ftp://x']))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => parseCommandLine(['--log-level', 'loud']))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => resolveConfig({ roomsPerSocket: 0 }))).toBe('INVALID_ARGUMENT')
  })
})

describe('token bucket', () => {
  it('allows a burst, then refills at its rate', () => {
    let now = 0
    const bucket = createTokenBucket(3, 2, () => now)
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false])
    now = 500
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    now = 10_000
    expect(bucket.available).toBe(3)
    expect(bucket.take(4)).toBe(false)
  })
})
