/**
 * The relay framing (`src/wire/relay.ts`) against `vectors/relay.json`: valid payloads decode to
 * the case's fields and encode back to the same bytes; invalid ones are refused with the case's
 * code (asserted, never the message).
 */
import { describe, expect, it } from 'vitest'
import {
  decodeRelayMessage,
  encodeRelayMessage,
  RELAY_HEADER_BYTES,
  RelayKind,
  type RelayMessage,
} from '../src/entries/wire.ts'
import { errorCode, fromHex, toHex } from '../src/index.ts'
import vectors from './vectors/relay.json'

interface RelayCase {
  name: string
  description: string
  valid: boolean
  error?: string
  payload: string
  kind?: 'frame' | 'open' | 'open-ack' | 'close'
  generation?: number
  frame?: string
}

const KIND = {
  frame: RelayKind.frame,
  open: RelayKind.open,
  'open-ack': RelayKind.openAck,
  close: RelayKind.close,
}
const cases: RelayCase[] = vectors.cases as RelayCase[]

describe('relay framing vectors', () => {
  it('is version 1 with unique names, good and failing cases', () => {
    expect(vectors.version).toBe(1)
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
    expect(cases.some((c) => c.valid)).toBe(true)
    expect(cases.some((c) => !c.valid)).toBe(true)
  })

  for (const c of cases) {
    it(c.name, () => {
      const payload = fromHex(c.payload)
      if (!c.valid) {
        let code: unknown
        try {
          decodeRelayMessage(payload)
        } catch (e) {
          code = errorCode(e)
        }
        expect(code).toBe(c.error)
        return
      }
      const m = decodeRelayMessage(payload)
      expect(m.kind).toBe(KIND[c.kind!])
      expect(m.generation).toBe(c.generation)
      if (m.kind === RelayKind.frame) expect(toHex(m.frame)).toBe(c.frame)
      expect(toHex(encodeRelayMessage(m))).toBe(c.payload)
      expect(payload.length - (m.kind === RelayKind.frame ? m.frame.length : 0)).toBe(RELAY_HEADER_BYTES)
    })
  }

  it('refuses to encode a generation that is not a u32', () => {
    for (const generation of [-1, 2 ** 32, 1.5, Number.NaN]) {
      const m = { kind: RelayKind.open, generation } as RelayMessage
      expect(() => encodeRelayMessage(m)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
  })
})
