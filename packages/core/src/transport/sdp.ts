/**
 * What the webrtc path reads from, and filters in, SDP and ICE candidates: the DTLS
 * fingerprints a link reports, the largest message a connection takes, and the candidate
 * filter (which also applies to `a=candidate:` lines inside an SDP).
 * @module
 */
import type { SimplePeerSignal } from './simple-peer-types.ts'

/** Largest frame a webrtc link takes, whatever the connection allows. */
export const MAX_LINK_MESSAGE = 64 * 1024

/** Canonical fingerprint list: the `a=fingerprint:` lines of an SDP as sorted, lowercase-alg `alg HEX` lines. */
export function fingerprintsFromSdp(sdp: string | undefined): string[] {
  if (!sdp) return []
  const out = new Set<string>()
  for (const m of sdp.matchAll(/^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/gm)) {
    out.add(`${m[1]!.toLowerCase()} ${m[2]!.toUpperCase()}`)
  }
  return [...out].sort()
}

/** Max message size of a connection: SCTP's, else the remote SDP's, capped at 64 KiB. */
export function linkMaxMessageSize(pc: RTCPeerConnection | null): number {
  const sctp = (pc as { sctp?: { maxMessageSize?: number } | null } | null)?.sctp?.maxMessageSize
  let size = typeof sctp === 'number' && sctp > 0 ? sctp : 0
  if (!size) {
    const m = /^a=max-message-size:(\d+)/m.exec(pc?.remoteDescription?.sdp ?? '')
    size = m ? Number(m[1]) || MAX_LINK_MESSAGE : 65536
  }
  return Math.min(size, MAX_LINK_MESSAGE)
}

/** The loopback-only ICE candidate filter for tests (127.0.0.0/8 and ::1). */
export function loopbackOnly(candidate: string): boolean {
  const parts = candidate.split(' ')
  const address = parts[4] ?? ''
  return address.startsWith('127.') || address === '::1' || address === 'localhost'
}

/**
 * `data` with the candidates `keep` refuses left out: undefined when `data` is a refused
 * candidate, else `data` with its SDP's refused `a=candidate:` lines dropped.
 */
export function filterCandidates(
  data: SimplePeerSignal,
  keep: ((candidate: string) => boolean) | undefined,
): SimplePeerSignal | undefined {
  if (!keep) return data
  if (data.candidate && !keep(String(data.candidate.candidate ?? ''))) return undefined
  if (typeof data.sdp !== 'string') return data
  const sdp = data.sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || keep(line.slice(2)))
    .join('\r\n')
  return { ...data, sdp }
}
