/**
 * Quickstart (browser): join a room through the front door and compute a secure sum with the
 * parties in it (`conclave-party … --protocol secure-sum --serve`, other tabs, a Node script).
 * Every line of the log also goes to the console.
 */
import { createPlatformCrypto, generateIdentity, joinRoom } from '@conclave/core'
import { runSecureSum, SECURE_SUM } from '@conclave/protocols'

const q = new URLSearchParams(location.search)
const signaling = q.get('signal') ?? `${location.protocol}//${location.hostname}:8787`
const room = q.get('room') ?? 'quickstart'
const input = BigInt(q.get('input') ?? '1')
const parties = Number(q.get('parties') ?? '3')

function log(text) {
  document.getElementById('log').textContent += `${text}\n`
  console.log(text)
}

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

try {
  const identity = await generateIdentity(await createPlatformCrypto())
  const { party } = await joinRoom({ signaling, room, identity, iceServers: [] })
  log(`party ${party.id} in room ${room}: waiting for ${parties - 1} more`)
  const peers = await readyPeers(party, parties - 1)
  const session = await party.propose({ protocol: SECURE_SUM, participants: [party.id, ...peers] })
  const total = await runSecureSum(session, input)
  session.close()
  log(`secure-sum total: ${total}`)
} catch (e) {
  log(`secure-sum failed: ${e?.code ?? ''} ${e instanceof Error ? e.message : String(e)}`)
}
