/**
 * The page's settings, from its URL: `?room=NAME` (default `demo`), `?signal=URL` (default the
 * page's host name on port 8787), `?label=TEXT` (this tab's display label for this visit),
 * `?roster=URL` (a roster JSON: only its parties are accepted; without it, open mode).
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
  return { room, signal, label, roster }
}
