import { describe, expect, it } from 'vitest'
import { parseIceServers } from '../src/config.ts'

describe('the page ICE settings', () => {
  it('has no ICE server unless the URL names one', () => {
    expect(parseIceServers(null)).toEqual([])
  })

  it('takes TURN servers with credentials', () => {
    expect(parseIceServers('[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]')).toEqual([
      { urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'p' },
    ])
  })

  it.each([
    ['{', /JSON array/],
    ['{"urls":"turn:x"}', /JSON array/],
    ['[{"urls":"http://x"}]', /stun:, turn: or turns:/],
    ['[{"urls":"turn:127.0.0.1:3478"}]', /username/],
  ])('refuses %s', (text, message) => {
    expect(() => parseIceServers(text)).toThrowError(message)
  })
})
