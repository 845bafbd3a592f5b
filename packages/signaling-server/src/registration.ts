/**
 * Registration of one socket: the challenge it gets on connect, and the `register` event that
 * proves the party's key over `registrationSignedBytes(origin, challenge, partyId)`.
 *
 * One PartyId per socket, and one socket per PartyId: a newer registration replaces the older
 * socket, which is told (`REPLACED`) and cut, and whose rooms see it leave.
 * @module
 */
import { randomBytes } from 'node:crypto'
import {
  type ChallengeMessage,
  SIGNALING_VERSIONS,
  type SignalingErrorCode,
  validateRegisterRequest,
} from '@conclave/core/signaling'
import { registrationSignedBytes } from '@conclave/core/wire'
import {
  announce,
  announcedLimits,
  type ConnectionContext,
  partyRoom,
  type SignalingSocket,
} from './context.ts'
import type { AckFn, Guard } from './guard.ts'
import type { Member } from './registry.ts'

/** The registration state of one socket. */
export interface Registration {
  /** The registered party, once registered. */
  readonly member: Member | undefined
  /** True while a signature is being verified (the registration timeout waits for it). */
  readonly pending: boolean
  /** The challenge message to send on connect (a fresh 32-byte CSPRNG challenge per socket). */
  readonly challenge: ChallengeMessage
  /** Handle a `register` event. */
  register(raw: unknown, ack: AckFn | undefined): Promise<void>
}

/** Create the registration state of a freshly connected socket. */
export function createRegistration(
  ctx: ConnectionContext,
  socket: SignalingSocket,
  guard: Guard,
): Registration {
  const { config, registry, metrics, log } = ctx
  const challenge = new Uint8Array(randomBytes(32))
  let member: Member | undefined
  let pending = false
  let failures = 0

  function fail(code: SignalingErrorCode, message: string, ack: AckFn | undefined): void {
    metrics.registrationFailed(code)
    guard.refuse(code, message, 'register', ack)
    if (++failures >= config.maxRegistrationAttempts) guard.cut('ABUSE', `${failures} failed registrations`)
  }

  /** Newest wins: the older socket is told, cut (on whichever instance holds it), and its rooms told. */
  async function evict(partyId: string, replaced: { socketId: string; rooms: string[] }): Promise<void> {
    log.info('replaced', { partyId, socketId: replaced.socketId, by: socket.id })
    metrics.rejected('REPLACED')
    ctx.io
      .to(replaced.socketId)
      .emit('error', { code: 'REPLACED', message: 'a newer connection registered this PartyId' })
    ctx.io.in(replaced.socketId).disconnectSockets(true)
    const entry = await registry.presence(partyId)
    if (entry) for (const room of replaced.rooms) announce(ctx, room, 'left', entry)
  }

  return {
    get member() {
      return member
    },
    get pending() {
      return pending
    },
    challenge: {
      challenge: Buffer.from(challenge).toString('hex'),
      origin: ctx.origin,
      versions: [...SIGNALING_VERSIONS],
      limits: announcedLimits(config),
    },

    async register(raw, ack) {
      const started = performance.now()
      if (member || pending)
        return guard.refuse('ALREADY_REGISTERED', 'this socket is registered', 'register', ack)
      const req = validateRegisterRequest(raw)
      if (!req.ok) return fail(req.code, req.message, ack)
      const { partyId, signature, version, label } = req.value
      if (!(SIGNALING_VERSIONS as readonly number[]).includes(version)) {
        return fail('VERSION_MISMATCH', `version ${version} not in ${SIGNALING_VERSIONS.join(',')}`, ack)
      }
      const publicKey = new Uint8Array(Buffer.from(partyId, 'hex'))
      const signed = registrationSignedBytes(ctx.origin, challenge, publicKey)
      pending = true
      let valid = false
      try {
        valid = await ctx.verify(publicKey, signed, new Uint8Array(Buffer.from(signature, 'hex')))
      } catch {
        valid = false
      } finally {
        pending = false
      }
      if (guard.closed) return
      if (!valid) return fail('BAD_SIGNATURE', 'signature does not verify for this challenge and origin', ack)

      const self: Member = { partyId, socketId: socket.id }
      member = self
      const { replaced } = await registry.add(label === undefined ? self : { ...self, label })
      if (guard.closed) {
        // Gone while the store was answering: undo, as the disconnect handler may have run first.
        await registry.remove(self)
        return
      }
      if (replaced) await evict(partyId, replaced)
      await socket.join(partyRoom(partyId))
      metrics.count('registrations')
      metrics.observe('registration', (performance.now() - started) / 1000)
      log.info('registered', { socketId: socket.id, partyId, label })
      ack?.({ ok: true, partyId })
    },
  }
}
