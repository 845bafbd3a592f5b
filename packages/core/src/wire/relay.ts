/**
 * The relay framing: what a `relay` transport puts in the opaque payload of one signaling
 * `relay` event (DESIGN "Signaling server": frame relay fallback). The server forwards the
 * payload untouched and stamps the sender, so this framing only has to let the two parties
 * agree that a relay link exists, keep a fresh link apart from the frames of an older one, and
 * let either end close it.
 *
 * ```
 * relay payload = u8 version (1) ‖ u8 kind ‖ u32 generation ‖ body
 *   kind 0 frame     body = one link frame: a channel frame (handshake, or AEAD data frame),
 *                    exactly as a data channel would carry it. Any length, including 0.
 *   kind 1 open      body empty. "I want relay link `generation` with you."
 *   kind 2 open-ack  body empty. "Relay link `generation` exists at my end."
 *   kind 3 close     body empty. "Relay link `generation` is gone at my end (or was refused)."
 * ```
 *
 * `generation` names one relay link between two parties: a random u32 drawn by the end that sends
 * `open`, never one of that end's recent generations for the same peer. Each end holds at most one
 * link per peer; a payload naming another generation never reaches the current link (a stale
 * `frame` is answered with `close`).
 * When both ends send `open` at once, the `open` of the smaller PartyId wins. Control payloads
 * are in clear (the server learns only that a link opens or closes, which it sees anyway);
 * frames are the channel's own (end-to-end encrypted and signed after the handshake).
 *
 * Decoders refuse short input (`DECODE_SHORT_INPUT`), another version
 * (`DECODE_UNKNOWN_VERSION`), an unknown kind (`DECODE_UNKNOWN_TYPE`) and a body on a control
 * payload (`DECODE_TRAILING_BYTES`).
 * @module
 */
import { Reader, Writer } from '../bytes.ts'
import { ConclaveError } from '../errors.ts'

/** The relay framing version this code speaks. */
export const RELAY_VERSION = 1

/** Kinds of relay payload. */
export const RelayKind = { frame: 0, open: 1, openAck: 2, close: 3 } as const
export type RelayKind = (typeof RelayKind)[keyof typeof RelayKind]

/** Bytes before the body: version, kind and generation. */
export const RELAY_HEADER_BYTES = 6

/** One relay payload, as a closed union. */
export type RelayMessage =
  | { kind: typeof RelayKind.frame; generation: number; frame: Uint8Array }
  | { kind: typeof RelayKind.open; generation: number }
  | { kind: typeof RelayKind.openAck; generation: number }
  | { kind: typeof RelayKind.close; generation: number }

const KINDS: ReadonlySet<number> = new Set(Object.values(RelayKind))

/**
 * Encode a relay payload (a fresh, exact buffer).
 * @throws ConclaveError `INVALID_ARGUMENT` for a generation that is not a u32, or an unknown kind
 */
export function encodeRelayMessage(m: RelayMessage): Uint8Array {
  if (!KINDS.has(m.kind)) throw new ConclaveError('INVALID_ARGUMENT', `unknown relay kind ${String(m.kind)}`)
  if (!Number.isInteger(m.generation) || m.generation < 0 || m.generation > 0xffffffff) {
    throw new ConclaveError(
      'INVALID_ARGUMENT',
      `"generation" expected an integer in 0…4294967295, got ${String(m.generation)}`,
    )
  }
  const body = m.kind === RelayKind.frame ? m.frame : undefined
  const w = new Writer(RELAY_HEADER_BYTES + (body?.length ?? 0))
    .u8(RELAY_VERSION)
    .u8(m.kind)
    .u32(m.generation)
  if (body) w.bytes(body)
  return w.finish()
}

/**
 * Decode a relay payload. A frame's body is a view into `payload` (no copy).
 * @throws ConclaveError `DECODE_SHORT_INPUT`, `DECODE_UNKNOWN_VERSION`, `DECODE_UNKNOWN_TYPE`,
 *   `DECODE_TRAILING_BYTES`
 */
export function decodeRelayMessage(payload: Uint8Array): RelayMessage {
  const r = new Reader(payload)
  const version = r.u8('relay version')
  if (version !== RELAY_VERSION) {
    throw new ConclaveError('DECODE_UNKNOWN_VERSION', `relay framing version ${version}, expected 1`)
  }
  const kind = r.u8('relay kind')
  const generation = r.u32('relay generation')
  if (!KINDS.has(kind)) throw new ConclaveError('DECODE_UNKNOWN_TYPE', `unknown relay kind ${kind}`)
  if (kind === RelayKind.frame) return { kind, generation, frame: r.rest() }
  r.end(`relay ${kind === RelayKind.open ? 'open' : kind === RelayKind.openAck ? 'open-ack' : 'close'}`)
  return { kind: kind as 1 | 2 | 3, generation }
}
