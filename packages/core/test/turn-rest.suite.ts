/**
 * TURN REST credentials (`turnRestCredentials`) against `vectors/turn-rest.json`, whose
 * credentials were computed with openssl and node:crypto (not with this code), at the clock each
 * case fixes; and the refusals, with their code. Run in Node (`turn-rest.test.ts`) and in the
 * browsers (`turn-rest.browser.test.ts`): WebCrypto's HMAC-SHA1 on each.
 */
import {
  ConclaveError,
  TURN_REST_MAX_TTL_SECONDS,
  type TurnRestOptions,
  turnRestCredentials,
} from '@conclave/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import vectors from './vectors/turn-rest.json'

interface Case {
  name: string
  description: string
  valid: boolean
  nowMs: number
  options: TurnRestOptions
  expect?: RTCIceServer
  error?: string
}

const cases = vectors.cases as Case[]

/** The suite, its describe blocks named after `where` it runs. */
export function runTurnRestTests(where: string): void {
  afterEach(() => {
    vi.useRealTimers()
  })

  describe(`turnRestCredentials: vectors (${where})`, () => {
    it('has good and failing cases', () => {
      expect(vectors.version).toBe(1)
      expect(cases.filter((c) => c.valid).length).toBeGreaterThanOrEqual(4)
      expect(cases.filter((c) => !c.valid).length).toBeGreaterThanOrEqual(4)
    })

    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(c.nowMs)
      if (c.valid) {
        expect(await turnRestCredentials(c.options)).toEqual(c.expect)
      } else {
        const err = await turnRestCredentials(c.options).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(ConclaveError)
        expect(err).toMatchObject({ code: c.error })
      }
    })
  })

  describe(`turnRestCredentials (${where})`, () => {
    it('counts the expiry from the clock of each call: a later call gives a later username', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const options = { urls: 'turn:127.0.0.1:3478', secret: 's', ttlSeconds: 3, id: 'p' }
      vi.setSystemTime(1_767_225_600_000)
      const first = await turnRestCredentials(options)
      vi.setSystemTime(1_767_225_605_000)
      const second = await turnRestCredentials(options)
      expect(first.username).toBe('1767225603:p')
      expect(second.username).toBe('1767225608:p')
      expect(second.credential).not.toBe(first.credential)
    })

    it('never puts the secret in its error messages', async () => {
      const secret = 'do-not-print-me'
      const errors = await Promise.all(
        [
          { urls: 'stun:x', secret, ttlSeconds: 1 },
          { urls: 'turn:x', secret, ttlSeconds: TURN_REST_MAX_TTL_SECONDS + 1 },
          { urls: 'turn:x', secret, ttlSeconds: 1, id: '' },
        ].map((o) => turnRestCredentials(o).catch((e: unknown) => e as Error)),
      )
      for (const e of errors) {
        expect(e).toMatchObject({ code: 'INVALID_ARGUMENT' })
        expect((e as Error).message).not.toContain(secret)
      }
    })

    it('refuses options that are not an object', async () => {
      await expect(turnRestCredentials(undefined as unknown as TurnRestOptions)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
    })
  })
}
