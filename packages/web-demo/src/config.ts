/**
 * The page's settings, from its URL: `?room=NAME` (default `demo`), `?signal=URL` (default the
 * page's host name on port 8787), `?label=TEXT` (this tab's display label for this visit),
 * `?roster=URL` (a roster JSON: only its parties are accepted; without it, open mode),
 * `?ice=JSON` (ICE servers, e.g. `[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]`;
 * default none: no STUN/TURN server is ever contacted unless named here), `?iceRelay=1`
 * (TURN relays only) and `?outbox=0` (no outbox store: a reload is then a new stream epoch, and
 * peers abort the sessions open with this tab with `PEER_RESTARTED`).
 * @module
 */

/** Settings of one page load. */
export interface DemoConfig {
  room: string
  /** Signaling server URL; its origin must be the one the server names in its challenges. */
  signal: string
  /** Overrides the stored label for this visit. */
  label: string | undefined
  /** Where to fetch the roster JSON from (resolved against the page). */
  roster: string | undefined
  /** ICE servers (STUN/TURN with credentials). @default [] */
  iceServers: RTCIceServer[]
  /** Only relay candidates (`iceTransportPolicy: 'relay'`). */
  iceRelayOnly: boolean
  /**
   * Keep this identity's outbox store in IndexedDB (the session host's Worker opens it), so a
   * reload keeps the stream epoch and resumes the chat. Off with `?outbox=0`.
   * @default true
   */
  outbox: boolean
}

/**
 * Parse and check `?ice=`: a JSON array of `{ urls, username?, credential? }` whose URLs are
 * `stun:`, `turn:` or `turns:`, TURN ones with credentials.
 * @throws Error naming what is wrong
 */
export function parseIceServers(text: string | null): RTCIceServer[] {
  if (!text) return []
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new Error('"ice" expected a JSON array of ICE servers')
  }
  if (!Array.isArray(v)) throw new Error('"ice" expected a JSON array of ICE servers')
  return v.map((e, i) => {
    const s = e as { urls?: unknown; username?: unknown; credential?: unknown }
    const urls = typeof s?.urls === 'string' ? [s.urls] : s?.urls
    if (
      !Array.isArray(urls) ||
      urls.length === 0 ||
      !urls.every((u) => typeof u === 'string' && /^(stun|turns?):/.test(u))
    ) {
      throw new Error(`"ice"[${i}].urls expected stun:, turn: or turns: URLs`)
    }
    const turn = urls.some((u: string) => u.startsWith('turn'))
    if (turn && (typeof s.username !== 'string' || typeof s.credential !== 'string')) {
      throw new Error(`"ice"[${i}] is a TURN server: it needs "username" and "credential"`)
    }
    return {
      urls: urls as string[],
      ...(typeof s.username === 'string' ? { username: s.username } : {}),
      ...(typeof s.credential === 'string' ? { credential: s.credential } : {}),
    }
  })
}

const ROOM = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Read the settings from `location`.
 * @throws Error naming the parameter when `room` or `signal` is malformed
 */
export function readConfig(location: Location): DemoConfig {
  const q = new URLSearchParams(location.search)
  const room = q.get('room') ?? 'demo'
  if (!ROOM.test(room)) {
    throw new Error(`"room" expected 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(room)}`)
  }
  const signal = q.get('signal') ?? `${location.protocol}//${location.hostname}:8787`
  try {
    const url = new URL(signal)
    if (!/^(https?|wss?):$/.test(url.protocol)) throw new Error(url.protocol)
  } catch {
    throw new Error(`"signal" expected an http(s) or ws(s) URL, got ${JSON.stringify(signal)}`)
  }
  const label = q.get('label')?.slice(0, 64) || undefined
  const roster = q.get('roster') ? new URL(q.get('roster')!, location.href).href : undefined
  const iceServers = parseIceServers(q.get('ice'))
  const iceRelayOnly = q.get('iceRelay') === '1'
  const outbox = q.get('outbox') !== '0'
  return { room, signal, label, roster, iceServers, iceRelayOnly, outbox }
}
