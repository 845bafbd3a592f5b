import {
  validateChallenge,
  validateHeartbeatRequest,
  validateJoinRequest,
  validatePartyId,
  validatePresenceEvent,
  validateRegisterRequest,
  validateRelayEvent,
  validateRelayRequest,
  validateRoom,
  validateServerError,
  validateSignalData,
  validateSignalRequest,
} from '@conclave/core/signaling'
import { describe, expect, it } from 'vitest'

const ID = 'ab'.repeat(32)
const data = { linkId: 'l', attempt: 0, kind: 'candidate', payload: { candidate: { sdpMid: '0' } } }
const codeOf = (r: { ok: boolean; code?: string }): string | undefined => (r.ok ? undefined : r.code)

describe('signaling validators', () => {
  it('room names: 1-64 of [A-Za-z0-9._-]', () => {
    for (const ok of ['a', 'A.b_c-9', 'x'.repeat(64)]) expect(validateRoom(ok).ok).toBe(true)
    for (const bad of ['', 'x'.repeat(65), 'a/b', 'a b', 'é', 1, null, undefined]) {
      expect(codeOf(validateRoom(bad))).toBe('BAD_PAYLOAD')
    }
  })

  it('party ids: 64 lowercase hex, not all zero', () => {
    expect(validatePartyId(ID).ok).toBe(true)
    for (const bad of [ID.toUpperCase(), ID.slice(2), '0'.repeat(64), `${ID}00`, 5]) {
      expect(codeOf(validatePartyId(bad))).toBe('BAD_PAYLOAD')
    }
  })

  it('register requests', () => {
    const good = { partyId: ID, signature: 'cd'.repeat(64), version: 1, label: 'x' }
    expect(validateRegisterRequest({ ...good, extra: 1 })).toEqual({ ok: true, value: good })
    expect(codeOf(validateRegisterRequest({ ...good, signature: 'CD'.repeat(64) }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateRegisterRequest({ ...good, label: 'x'.repeat(65) }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateRegisterRequest({ ...good, version: 1.5 }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateRegisterRequest([]))).toBe('BAD_PAYLOAD')
  })

  it('signal data: known kinds, plain JSON, size limit', () => {
    expect(validateSignalData(data).ok).toBe(true)
    expect(validateSignalData({ linkId: 'l', attempt: 0, kind: 'connect-request' }).ok).toBe(true)
    expect(codeOf(validateSignalData({ ...data, kind: 'x' }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateSignalData({ ...data, attempt: 0.5 }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateSignalData({ ...data, payload: { n: Number.NaN } }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateSignalData({ ...data, payload: new Date() }))).toBe('BAD_PAYLOAD')
    let deep: unknown = 1
    for (let i = 0; i < 20; i++) deep = [deep]
    expect(codeOf(validateSignalData({ ...data, payload: deep }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateSignalData({ ...data, payload: 'x'.repeat(100) }, 64))).toBe('PAYLOAD_TOO_LARGE')
    expect(validateSignalRequest({ room: 'r', to: ID, data }).ok).toBe(true)
    expect(codeOf(validateSignalRequest({ room: 'r', to: ID }))).toBe('BAD_PAYLOAD')
  })

  it('relay frames: Uint8Array, Buffer or ArrayBuffer, non-empty, within the limit', () => {
    for (const frame of [
      new Uint8Array(4),
      Buffer.alloc(4),
      new ArrayBuffer(4),
      new DataView(new ArrayBuffer(4)),
    ]) {
      const r = validateRelayRequest({ room: 'r', to: ID, frame }, 4)
      expect(r.ok && r.value.frame.length).toBe(4)
    }
    expect(codeOf(validateRelayRequest({ room: 'r', to: ID, frame: new Uint8Array(5) }, 4))).toBe(
      'PAYLOAD_TOO_LARGE',
    )
    expect(codeOf(validateRelayRequest({ room: 'r', to: ID, frame: new Uint8Array(0) }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateRelayRequest({ room: 'r', to: ID, frame: [1, 2] }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateRelayEvent({ room: 'r', from: ID, frame: 'abc' }))).toBe('BAD_PAYLOAD')
  })

  it('join and heartbeat requests', () => {
    expect(validateJoinRequest({ room: 'r' })).toEqual({ ok: true, value: { room: 'r' } })
    expect(validateHeartbeatRequest(undefined)).toEqual({ ok: true, value: {} })
    expect(validateHeartbeatRequest({ health: 1 })).toEqual({ ok: true, value: { health: 1 } })
    expect(codeOf(validateHeartbeatRequest({ health: -0.1 }))).toBe('BAD_PAYLOAD')
  })

  it('server → client payloads', () => {
    const challenge = { challenge: 'ef'.repeat(32), origin: 'http://127.0.0.1:1', versions: [1] }
    expect(validateChallenge(challenge).ok).toBe(true)
    expect(codeOf(validateChallenge({ ...challenge, challenge: 'ef' }))).toBe('BAD_PAYLOAD')
    expect(codeOf(validateChallenge({ ...challenge, limits: { maxPayloadBytes: 0 } }))).toBe('BAD_PAYLOAD')
    const party = { partyId: ID, lastSeen: 1 }
    expect(validatePresenceEvent({ room: 'r', event: 'left', party }).ok).toBe(true)
    expect(codeOf(validatePresenceEvent({ room: 'r', event: 'gone', party }))).toBe('BAD_PAYLOAD')
    expect(validateServerError({ code: 'ROOM_FULL', message: 'm' }).ok).toBe(true)
    expect(codeOf(validateServerError({ code: 'SOMETHING_ELSE', message: 'm' }))).toBe('BAD_PAYLOAD')
  })
})
