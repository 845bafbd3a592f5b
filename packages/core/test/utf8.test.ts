/**
 * Strings on the wire are decoded strictly, and a leading byte-order mark is part of the string
 * (DESIGN "Encoding conventions"): a mode of BOM + "conclave" must not pass for "conclave".
 */
import { utf8 } from '@conclave/core'
import { Reader, Writer } from '@conclave/core/wire'
import { describe, expect, it } from 'vitest'
import { decodeKind } from '../src/wire/envelope-core.ts'

const BOM = '\uFEFF'

describe('UTF-8 on the wire', () => {
  it('a str16 keeps a leading byte-order mark', () => {
    const bytes = new Writer(32).str16(`${BOM}conclave`).finish()
    const s = new Reader(bytes).str16('mode')
    expect(s).toBe(`${BOM}conclave`)
    expect(s).not.toBe('conclave')
  })

  it('an envelope kind keeps a leading byte-order mark', () => {
    expect(decodeKind(utf8(`${BOM}x`))).toBe(`${BOM}x`)
  })

  it('invalid UTF-8 is still refused', () => {
    const bytes = new Writer(8)
      .u16(1)
      .bytes(new Uint8Array([0xff]), 1)
      .finish()
    expect(() => new Reader(bytes).str16('mode')).toThrow(
      expect.objectContaining({ code: 'DECODE_BAD_UTF8' }),
    )
  })
})
