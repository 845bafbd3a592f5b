/**
 * ed25519.json in a browser (Chromium or Firefox, whichever runs this file): the strict
 * verification rule gives the vectors' verdicts with the browser's WebCrypto Ed25519 and with
 * noble, on the page and inside a Web Worker (where the session host verifies every envelope).
 */
import { hasWebCryptoCurves } from '@conclave/core/crypto'
import { server } from '@vitest/browser/context'
import { describe, expect, it } from 'vitest'
import { cases, runEd25519Vectors, type Verdict } from './ed25519-check.ts'

function check(verdicts: Verdict[]): void {
  expect(verdicts.map((v) => v.backend)).toContain('webcrypto')
  expect(verdicts).toHaveLength(cases.length * 2)
  for (const v of verdicts) {
    const c = cases.find((x) => x.name === v.name)!
    const where = `${v.backend}: ${c.name}`
    expect(v.verified, where).toBe(c.valid)
    expect(v.keyError, where).toBe(c.error)
    if (c.secretKey !== undefined) {
      expect(v.publicKey, where).toBe(c.publicKey)
      expect(v.signature, where).toBe(c.signature)
    }
  }
}

describe(`ed25519.json in ${server.browser}`, () => {
  it('this browser has WebCrypto Ed25519 and X25519', async () => {
    expect(await hasWebCryptoCurves()).toBe(true)
  })

  it('on the page', async () => {
    check(await runEd25519Vectors())
  })

  it('inside a Web Worker', async () => {
    const worker = new Worker(new URL('./fixtures/ed25519.worker.ts', import.meta.url), { type: 'module' })
    try {
      const result = await new Promise<{ verdicts?: Verdict[]; error?: string }>((resolve, reject) => {
        worker.onmessage = (ev: MessageEvent<{ verdicts?: Verdict[]; error?: string }>) => resolve(ev.data)
        worker.onerror = (ev) => reject(new Error(`worker failed: ${ev.message}`))
      })
      expect(result.error).toBeUndefined()
      check(result.verdicts!)
    } finally {
      worker.terminate()
    }
  })
})
