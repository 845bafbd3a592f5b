/**
 * The webrtc negotiation rules (`src/transport/negotiation.ts`), without simple-peer or timers:
 * who offers, the link id, attempts, instance ids, and the verdict on every kind of signal.
 */
import { describe, expect, it } from 'vitest'
import type { PartyId } from '../src/index.ts'
import type { SignalData } from '../src/signaling/protocol.ts'
import {
  judgeSignal,
  linkIdOf,
  type NegotiationView,
  newInstanceId,
  nextAttempt,
  offers,
  signalKind,
  YOUNG_ATTEMPT_MS,
} from '../src/transport/negotiation.ts'

const small = `${'1'.repeat(16)}${'a'.repeat(48)}` as PartyId
const large = `${'2'.repeat(16)}${'b'.repeat(48)}` as PartyId
const NOW = 1_700_000_000_000

/** The view of `local` (talking to the other one). */
function view(local: PartyId, over: Partial<NegotiationView> = {}): NegotiationView {
  return {
    local,
    peer: local === small ? large : small,
    attempt: 0,
    linked: false,
    underWay: false,
    peerInstance: undefined,
    now: NOW,
    ...over,
  }
}

function signal(kind: SignalData['kind'], attempt: number, payload: unknown = {}): SignalData {
  return { linkId: linkIdOf(small, large), attempt, kind, payload }
}

describe('negotiation: who offers, link ids, attempts, instances', () => {
  it('the smaller PartyId offers, whichever end asks', () => {
    expect(offers(small, large)).toBe(true)
    expect(offers(large, small)).toBe(false)
  })

  it('names the pair the same from both ends: smaller[0..16]:larger[0..16]', () => {
    expect(linkIdOf(small, large)).toBe(`${'1'.repeat(16)}:${'2'.repeat(16)}`)
    expect(linkIdOf(large, small)).toBe(linkIdOf(small, large))
  })

  it('numbers attempts by the clock, always newer than the last', () => {
    expect(nextAttempt(0, NOW)).toBe(NOW)
    expect(nextAttempt(NOW, NOW)).toBe(NOW + 1) // two attempts in one ms
    expect(nextAttempt(NOW + 50, NOW)).toBe(NOW + 51) // the clock went back
  })

  it('draws instance ids from the CSPRNG: 128 bits, hex, never the same', () => {
    const ids = new Set(Array.from({ length: 64 }, () => newInstanceId()))
    expect(ids.size).toBe(64)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
  })

  it('names the kind of a simple-peer signal', () => {
    expect(signalKind({ type: 'offer', sdp: 'v=0' })).toBe('offer')
    expect(signalKind({ type: 'answer', sdp: 'v=0' })).toBe('answer')
    expect(signalKind({ candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' } })).toBe(
      'candidate',
    )
    expect(signalKind({ renegotiate: true })).toBe('renegotiate')
  })
})

describe('negotiation: the verdict on a signal', () => {
  it('ignores signals of another link', () => {
    const v = judgeSignal(view(large), { ...signal('offer', NOW), linkId: 'x:y' })
    expect(v.action).toBe('ignore')
  })

  describe('connect-request (at the offerer)', () => {
    it('is ignored by the end that does not offer', () => {
      expect(judgeSignal(view(large), signal('connect-request', 0, { instance: 'i', seen: 0 })).action).toBe(
        'ignore',
      )
    })

    it('gets an offer when there is no link and no attempt', () => {
      expect(judgeSignal(view(small), signal('connect-request', 0, { instance: 'i', seen: 0 }))).toEqual({
        action: 'reoffer',
      })
    })

    it('leaves an attempt younger than 2 s to finish, and replaces an older one', () => {
      const young = view(small, { attempt: NOW - YOUNG_ATTEMPT_MS + 1, underWay: true })
      expect(judgeSignal(young, signal('connect-request', 0, { instance: 'i' })).action).toBe('ignore')
      const old = view(small, { attempt: NOW - YOUNG_ATTEMPT_MS, underWay: true })
      expect(judgeSignal(old, signal('connect-request', 0, { instance: 'i' })).action).toBe('reoffer')
    })

    it('with a link up: a request that crossed our offer (same instance, older seen) is ignored', () => {
      const linked = view(small, { attempt: NOW, linked: true, underWay: true, peerInstance: 'peer-1' })
      expect(
        judgeSignal(linked, signal('connect-request', 0, { instance: 'peer-1', seen: NOW - 5 })).action,
      ).toBe('ignore')
      expect(judgeSignal(linked, signal('connect-request', 0, { instance: 'peer-1' })).action).toBe('ignore')
    })

    it('with a link up: the same instance having seen our attempt lost the link, and gets a new one', () => {
      const linked = view(small, { attempt: NOW, linked: true, underWay: true, peerInstance: 'peer-1' })
      expect(
        judgeSignal(linked, signal('connect-request', 0, { instance: 'peer-1', seen: NOW })).action,
      ).toBe('reoffer')
    })

    it('with a link up: a restarted peer (new instance) gets a new link at once', () => {
      const linked = view(small, { attempt: NOW, linked: true, underWay: true, peerInstance: 'peer-1' })
      expect(judgeSignal(linked, signal('connect-request', 0, { instance: 'peer-2', seen: 0 })).action).toBe(
        'reoffer',
      )
    })
  })

  describe('at the offerer', () => {
    it('feeds answers and candidates of its current attempt, learning the peer instance', () => {
      const v = view(small, { attempt: NOW, underWay: true })
      expect(judgeSignal(v, signal('answer', NOW, { instance: 'peer-1', sp: { type: 'answer' } }))).toEqual({
        action: 'feed',
        peerInstance: 'peer-1',
      })
      expect(judgeSignal(v, signal('candidate', NOW, {}))).toEqual({ action: 'feed' })
    })

    it('ignores signals of another attempt, or with no attempt under way', () => {
      expect(
        judgeSignal(view(small, { attempt: NOW, underWay: true }), signal('answer', NOW - 1)).action,
      ).toBe('ignore')
      expect(judgeSignal(view(small, { attempt: NOW, underWay: false }), signal('answer', NOW)).action).toBe(
        'ignore',
      )
    })
  })

  describe('at the answerer', () => {
    it('answers a newer offer as that attempt', () => {
      expect(judgeSignal(view(large, { attempt: NOW - 10, linked: true }), signal('offer', NOW))).toEqual({
        action: 'answer',
        attempt: NOW,
      })
    })

    it('drops signals of an older attempt, even an offer', () => {
      expect(
        judgeSignal(view(large, { attempt: NOW, underWay: true }), signal('offer', NOW - 1)).action,
      ).toBe('ignore')
    })

    it('drops candidates of a newer attempt whose offer it has not seen', () => {
      expect(judgeSignal(view(large, { attempt: NOW - 10 }), signal('candidate', NOW)).action).toBe('ignore')
    })

    it('feeds signals of its current attempt while it is under way', () => {
      expect(
        judgeSignal(view(large, { attempt: NOW, underWay: true }), signal('candidate', NOW)).action,
      ).toBe('feed')
      expect(
        judgeSignal(view(large, { attempt: NOW, underWay: false }), signal('candidate', NOW)).action,
      ).toBe('ignore')
    })

    it('takes payloads as untrusted: wrong types are left out, not believed', () => {
      const linked = view(small, { attempt: NOW, linked: true, underWay: true, peerInstance: 'peer-1' })
      // a non-string instance is no instance: not the one we linked with, so a new link
      expect(judgeSignal(linked, signal('connect-request', 0, { instance: 7, seen: 0 })).action).toBe(
        'reoffer',
      )
      expect(judgeSignal(view(small), signal('connect-request', 0, 'garbage')).action).toBe('reoffer')
    })
  })
})
