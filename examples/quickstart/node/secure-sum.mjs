/**
 * Quickstart (Node): join a room through the front door and compute a secure sum with the
 * parties in it. Nobody, the server included, learns another party's number: only the total.
 *
 *   npm install @conclave/core @conclave/protocols @roamhq/wrtc
 *   npx conclave-signal                       # from @conclave/signaling-server, on :8787
 *   npx conclave-party run --signal http://127.0.0.1:8787 --room quickstart --key a.key \
 *     --protocol secure-sum --serve --parties 3 --input 3    # twice (keys from `keygen`)
 *   node secure-sum.mjs
 *
 * Settings (environment): CONCLAVE_SIGNAL (default http://127.0.0.1:8787), CONCLAVE_ROOM
 * (quickstart), CONCLAVE_INPUT (this party's number, 5), CONCLAVE_PARTIES (session size, 3).
 * Prints `secure-sum total: N` and exits 0, or prints the error's code and exits 1.
 */
import { createPlatformCrypto, generateIdentity, joinRoom } from '@conclave/core/node'
import { runSecureSum, SECURE_SUM } from '@conclave/protocols'

const signaling = process.env.CONCLAVE_SIGNAL ?? 'http://127.0.0.1:8787'
const room = process.env.CONCLAVE_ROOM ?? 'quickstart'
const input = BigInt(process.env.CONCLAVE_INPUT ?? '5')
const parties = Number(process.env.CONCLAVE_PARTIES ?? '3')

/** The ids of `n` ready peers, once there are that many (rejects after `ms`). */
function readyPeers(party, n, ms = 60_000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const ready = party.peers().map((p) => p.peer)
      if (ready.length < n) return
      done()
      resolve(ready.slice(0, n))
    }
    const off = party.on('peer', check)
    const timer = setTimeout(() => {
      done()
      reject(new Error(`only ${party.peers().length} of ${n} peers ready after ${ms} ms`))
    }, ms)
    const done = () => {
      off()
      clearTimeout(timer)
    }
    check()
  })
}

const identity = await generateIdentity(await createPlatformCrypto())
const { party, stop } = await joinRoom({ signaling, room, identity, iceServers: [] })
let status = 0
try {
  console.log(`party ${party.id} in room ${room}: waiting for ${parties - 1} more`)
  const peers = await readyPeers(party, parties - 1)
  const session = await party.propose({ protocol: SECURE_SUM, participants: [party.id, ...peers] })
  const total = await runSecureSum(session, input)
  session.close()
  console.log(`secure-sum total: ${total}`)
} catch (e) {
  console.error(`secure-sum failed: ${e?.code ?? ''} ${e instanceof Error ? e.message : String(e)}`)
  status = 1
} finally {
  await stop()
}
process.exit(status)
