/**
 * Which handshake failures are evidence against the signaling path (DESIGN "Secure channel").
 *
 * On a webrtc link the handshake runs inside DTLS, whose peer is whoever holds the certificate
 * that the signaling server delivered in the SDP. Frames on it cannot be altered in transit, so
 * a hello or auth that binds the link to anyone but the peer this party meant to reach was made
 * by that DTLS peer: either the server delivered its own (or another party's) certificate, or
 * the peer itself misbehaved. An honest peer reached through an honest server never causes one
 * of these:
 * - `FINGERPRINT_MISMATCH`: the two ends see different DTLS certificates;
 * - `HANDSHAKE_BAD_SIGNATURE`: the auth does not verify over the transcript, which holds both
 *   hellos whole, fingerprint lists included (a relay that rewrote them to pass the check above
 *   is caught here);
 * - `HANDSHAKE_UNEXPECTED_PEER`: another party answered (signals delivered to the wrong one);
 * - `HANDSHAKE_SELF`: our own hello came back.
 *
 * Not evidence: a timeout or a closed channel (the peer may have gone away, or the network
 * failed), a version or mode mismatch (two honest configurations), this party's own refusals
 * (ban, roster, `maxPeers`), and malformed messages (a newer peer's format). Off webrtc no
 * failure is evidence of this kind: a relay link's frames go through the server in the open
 * (sealed end to end), so a failure there shows a path that breaks links, which any network
 * can do, not a server that put itself in a peer's place on a direct link.
 *
 * Evidence raises an alarm naming its code and blocks relay fallback to that peer (the server
 * is then presumed hostile). It earns the peer no penalty points: it cannot tell the server's
 * doing from the peer's, and a peer that fakes it only cuts its own relay path to this party.
 * @module
 */
import type { ErrorCode } from '../errors.ts'
import type { TransportKind } from './types.ts'

/** The handshake failures on a webrtc link that are evidence against the signaling path. */
export const PATH_EVIDENCE_CODES = [
  'FINGERPRINT_MISMATCH',
  'HANDSHAKE_BAD_SIGNATURE',
  'HANDSHAKE_UNEXPECTED_PEER',
  'HANDSHAKE_SELF',
] as const satisfies readonly ErrorCode[]

/** The code of a path alarm: one of {@link PATH_EVIDENCE_CODES}. */
export type PathAlarmCode = (typeof PATH_EVIDENCE_CODES)[number]

const EVIDENCE: ReadonlySet<ErrorCode> = new Set(PATH_EVIDENCE_CODES)

/**
 * True when a handshake that failed with `code` on a link of `kind` is evidence against the
 * signaling path (see the module comment).
 * @example
 * ```ts
 * isPathEvidence('webrtc', 'HANDSHAKE_BAD_SIGNATURE') // true
 * isPathEvidence('webrtc', 'HANDSHAKE_TIMEOUT') // false: the peer may have gone away
 * isPathEvidence('relay', 'HANDSHAKE_BAD_SIGNATURE') // false: no DTLS vouches for that path
 * ```
 */
export function isPathEvidence(kind: TransportKind, code: ErrorCode): code is PathAlarmCode {
  return kind === 'webrtc' && EVIDENCE.has(code)
}
