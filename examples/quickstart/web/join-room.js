/**
 * TEMPORARY (issue #18): a stand-in for the front door of `@conclave/core` in browsers, with
 * its shape (`joinRoom({ signaling, room, identity, iceServers })` → `{ party, signaling,
 * transport, stop }`, `createPlatformCrypto()`), built on what the package exports today: the
 * session host in a module Worker (worker.js), simple-peer's browser bundle, WebCrypto or noble.
 *
 * TODO(lead): once `joinRoom` is merged, main.js imports it from `@conclave/core`, and this
 * file, worker.js and package.json's simple-peer go.
 */
import {
  createBrowserWorkerSessionHost,
  createNobleBackend,
  createParty,
  createSignalingClient,
  createWebCryptoBackend,
  createWebRtcTransport,
  hasWebCryptoCurves,
  toWorkerHostConfig,
} from '@conclave/core'
import SimplePeer from 'simple-peer/simplepeer.min.js'

/** The crypto backend of this browser: WebCrypto Ed25519/X25519 where it has them, else noble. */
export async function createPlatformCrypto() {
  return (await hasWebCryptoCurves()) ? createWebCryptoBackend() : createNobleBackend()
}

/** Join `room` on `signaling` (a URL) as `identity` (a key, or `generateIdentity`'s result). */
export async function joinRoom({ signaling, room, identity, iceServers = [] }) {
  const key = 'key' in identity ? identity.key : identity
  const crypto = await createPlatformCrypto()
  const host = await createBrowserWorkerSessionHost(
    new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'conclave' }),
    toWorkerHostConfig({ crypto, identity: key }),
  )
  const client = createSignalingClient({
    url: signaling,
    publicKey: key.publicKey,
    sign: (bytes) => crypto.ed25519.sign(key, bytes),
  })
  const transport = createWebRtcTransport({ signaling: client, room, SimplePeer, iceServers })
  const party = createParty({ identity: key, crypto, transport, host })
  const registered = client.start()
  await party.start()
  await registered
  return {
    party,
    signaling: client,
    transport,
    async stop() {
      await party.stop()
      client.stop()
    },
  }
}
