/**
 * envelope.json in a browser (Chromium or Firefox, whichever runs this file): every case's bytes,
 * and its verdict from DESIGN's receiver and from the real session host, with the browser's
 * WebCrypto Ed25519 and with noble, on the page and inside a Web Worker (where the demo's session
 * host verifies every envelope). A unit with one bit of its
 * signature flipped is refused there with ENVELOPE_BAD_SIGNATURE by both receivers.
 */
import { server } from '@vitest/browser/context'
import { describe, expect, it } from 'vitest'
import { backends } from './ed25519-check.ts'
import { type EnvelopeReport, envelopeCases, envelopeHostCases, runEnvelopeVectors } from './envelope-run.ts'

function check(report: EnvelopeReport): void {
  const names = backends().map((b) => b.name)
  expect(names).toContain('webcrypto')
  expect(report.results).toHaveLength(names.length * (envelopeCases.length + envelopeHostCases.length))
  expect(report.results.filter((r) => r.error !== undefined)).toEqual([])
  expect(report.tampered).toEqual(
    names.flatMap((b) => [`${b} design: ENVELOPE_BAD_SIGNATURE`, `${b} host: ENVELOPE_BAD_SIGNATURE`]),
  )
}

describe(`envelope.json in ${server.browser}`, () => {
  it('on the page', { timeout: 120_000 }, async () => {
    check(await runEnvelopeVectors())
  })

  it('inside a Web Worker', { timeout: 120_000 }, async () => {
    const worker = new Worker(new URL('./fixtures/envelope.worker.ts', import.meta.url), { type: 'module' })
    try {
      const result = await new Promise<{ report?: EnvelopeReport; error?: string }>((resolve, reject) => {
        worker.onmessage = (ev: MessageEvent<{ report?: EnvelopeReport; error?: string }>) => resolve(ev.data)
        worker.onerror = (ev) => reject(new Error(`worker failed: ${ev.message}`))
      })
      expect(result.error).toBeUndefined()
      check(result.report!)
    } finally {
      worker.terminate()
    }
  })
})
