/**
 * envelope.json on the platform it runs on, with the browser's WebCrypto backend and the noble
 * backend: every case's bytes rebuilt, its verdict from the receiver written from DESIGN, and
 * (where both parties are real) from the real InThreadSessionHost over an authenticated memory
 * link (the checks of `packages/core/test/envelope-check.ts`, which `vectors.node.test.ts` runs
 * in Node). Used by the page test and, unchanged, inside a Web Worker (where the session host
 * runs in the demo). No test runner in here: results are data, posted back from a Worker.
 */
import {
  checkEnvelopeCase,
  checkEnvelopeCaseOnHost,
  designVerdicts,
  type EnvelopeCase,
  envelopeFile,
  hostCases,
  hostVerdicts,
} from '../../packages/core/test/envelope-check.ts'
import { backends } from './ed25519-check.ts'

/** One check of one case on one backend: `error` is what differed, absent when it passed. */
export interface EnvelopeResult {
  backend: string
  receiver: 'design' | 'host'
  name: string
  error?: string
}

/** Every check's result, and what both receivers said of a tampered unit. */
export interface EnvelopeReport {
  results: EnvelopeResult[]
  /**
   * The verdicts of a valid case's unit with one bit of its signature flipped, per backend and
   * receiver (`webcrypto design: ENVELOPE_BAD_SIGNATURE`, …).
   */
  tampered: string[]
}

const message = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

async function attempt(check: () => Promise<void>): Promise<string | undefined> {
  try {
    await check()
    return undefined
  } catch (e) {
    return message(e)
  }
}

/** The cases DESIGN's receiver runs: all of them. */
export const envelopeCases: readonly EnvelopeCase[] = envelopeFile.cases
/** The cases the host runs: those whose parties are real (not the small-order key). */
export const envelopeHostCases: readonly EnvelopeCase[] = hostCases

/** Run every case on every backend and both receivers; then a tampered unit on each. */
export async function runEnvelopeVectors(): Promise<EnvelopeReport> {
  const results: EnvelopeResult[] = []
  const tamperedVerdicts: string[] = []
  const honest = envelopeFile.cases.find((c) => c.valid && !c.seenBefore)
  if (!honest) throw new Error('envelope.json has no valid case without seenBefore')
  const tampered: EnvelopeCase = { ...honest, unit: flipSignatureByte(honest.unit) }
  for (const crypto of backends()) {
    for (const c of envelopeCases) {
      const error = await attempt(() => checkEnvelopeCase(c, crypto))
      results.push({ backend: crypto.name, receiver: 'design', name: c.name, ...(error ? { error } : {}) })
    }
    for (const c of envelopeHostCases) {
      const error = await attempt(() => checkEnvelopeCaseOnHost(c, crypto))
      results.push({ backend: crypto.name, receiver: 'host', name: c.name, ...(error ? { error } : {}) })
    }
    tamperedVerdicts.push(`${crypto.name} design: ${(await designVerdicts(tampered, crypto)).verdict}`)
    tamperedVerdicts.push(`${crypto.name} host: ${(await hostVerdicts(tampered, crypto)).verdict.join(', ')}`)
  }
  return { results, tampered: tamperedVerdicts }
}

/** `unit` (hex) with the lowest bit of its last byte (the signature's) flipped. */
function flipSignatureByte(unit: string): string {
  const last = Number.parseInt(unit.slice(-2), 16) ^ 1
  return unit.slice(0, -2) + last.toString(16).padStart(2, '0')
}
