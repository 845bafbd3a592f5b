/**
 * Signed contexts of DESIGN: every signature input starts with its own ASCII tag and one 0x00
 * byte, so no input of one context can be read as another's. The identity key signs nothing else.
 * @module
 */
import { concatBytes, utf8, Writer } from '../bytes.ts'

function tag(name: string): Uint8Array {
  return concatBytes(utf8(name), new Uint8Array([0]))
}

/** The tags, each already followed by its 0x00 byte. */
export const CONTEXT = {
  register: tag('conclave/v1/register'),
  handshake: tag('conclave/v1/handshake'),
  envelope: tag('conclave/msg/v1'),
  batch: tag('conclave/batch/v1'),
  grant: tag('conclave/grant/v1'),
  sessionId: tag('conclave/sid/v1'),
} as const

/**
 * Signed bytes of a signaling registration:
 * `tag ‖ str16 server origin ‖ bytes32 challenge ‖ bytes32 PartyId`.
 */
export function registrationSignedBytes(
  origin: string,
  challenge: Uint8Array,
  partyId: Uint8Array,
): Uint8Array {
  return new Writer(128)
    .bytes(CONTEXT.register)
    .str16(origin)
    .bytes(challenge, 32)
    .bytes(partyId, 32)
    .finish()
}
