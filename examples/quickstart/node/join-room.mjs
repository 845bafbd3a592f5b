/**
 * TEMPORARY (issue #18): a stand-in for the front door of `@conclave/core/node`, with its shape
 * (`joinRoom({ signaling, room, identity, iceServers })` → `{ party, signaling, transport, stop }`,
 * `createPlatformCrypto()`), built on what the published packages export today:
 * `startNodeParty` from `@conclave/node-party`.
 *
 * TODO(lead): once `joinRoom` is merged, secure-sum.mjs imports it from `@conclave/core/node`
 * and this file goes.
 */
import { createNodeCrypto } from '@conclave/core/node'
import { startNodeParty } from '@conclave/node-party'

/** The crypto backend that makes this party's identity (Node: `createNodeCrypto()`). */
export async function createPlatformCrypto() {
  return createNodeCrypto()
}

/** Join `room` on `signaling` (a URL) as `identity` (a key, or `generateIdentity`'s result). */
export async function joinRoom({ signaling, room, identity, iceServers = [], transport }) {
  const started = await startNodeParty({
    crypto: await createPlatformCrypto(),
    identity: 'key' in identity ? identity.key : identity,
    signal: signaling,
    room,
    iceServers,
    ...(transport ? { transport } : {}),
  })
  return {
    party: started.party,
    signaling: started.signaling,
    transport: started.transport,
    stop: () => started.stop(),
  }
}
