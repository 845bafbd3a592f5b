/**
 * Benchmark child: one Conclave party in its own process, as real parties run: WebCrypto keys
 * with node:crypto's synchronous Ed25519 and SHA-256, and its ChaCha20-Poly1305
 * (`createNodeCrypto`), the webrtc transport
 * (simple-peer on @roamhq/wrtc, no STUN host, loopback candidates only) and the signaling client.
 * The orchestrator (`run.ts`) drives it over stdin/stdout.
 *
 * Protocol: JSON lines. Commands on stdin `{ "cmd": … }`, reports on stdout `{ "ev": … }`.
 *
 * - `prepare` → a fresh identity → `prepared { id }`
 * - `up { url, room, peers, timeoutMs }` → start the signaling client and the party, wait until
 *   every one of `peers` is ready (connected and handshaken) → `up { t0, tRegistered, tFirstReady, tReady }`
 * - `down` → stop the party and the signaling client, close every RTCPeerConnection → `down`
 * - `session { sid, participants }` → open a session → `session`; `session-close { sid }` → `session-closed`
 * - `recv { sid, from, n, creditEvery, maxMs }` → `armed`, then `received { tLast, count, bytes, outOfOrder, … }`;
 *   `expect { n }` lowers the count waited for (the sender had sends refused)
 * - `send { sid, to, n, size, batch, window, highWater, watch, maxMs }` → `sent { tFirst, tEnd, … }`
 * - `echo { sid, from, n, maxMs }` → `echoing`, then `echoed { count }`
 * - `ping { sid, to, n, warmup, size, maxMs }` → `rtt { samples }`
 * - `sum { sid, participants, input }` → `sum { t0, t1, total }` (runSecureSum)
 * - `frost-dkg { sid, participants, threshold }` → `frost-dkg { t0, t1, cpuUs, groupPublicKey, index }`
 *   (runFrostDkg); the key share stays in this process (replacing any earlier one, wiped by
 *   `down` and `prepare`), never reported
 * - `frost-sign { sid, participants, message }` → `frost-sign { t0, t1, cpuUs, signature, groupPublicKey }`
 *   (runFrostSign with that key share, on a fresh session among `participants`, the signers;
 *   `message` and `signature` in hex)
 * - `phases` → `phases { … }`: the cost of each step of the message path, measured in-process
 * - `exit` → `down`, then exit
 *
 * Every loop is bounded in count and in time (`maxMs`); a stalled run reports what it got.
 *
 * This file is the entry (the command table); by role: `conclave/party.ts` (identity, up, down,
 * sessions), `conclave/stream.ts` (recv, send, echo, ping), `conclave/protocols.ts` (secure-sum,
 * FROST), `conclave/phases.ts`, `conclave/wrtc-peers.ts` (the tracked wrtc peers).
 * @module
 */
import { type Command, emit, serveCommands, sleep, str } from './child-io.ts'
import { down, openSession, prepare, sessions, up } from './conclave/party.ts'
import { phases } from './conclave/phases.ts'
import { frostDkg, frostSign, sum } from './conclave/protocols.ts'
import { echo, expect, ping, recv, send } from './conclave/stream.ts'
import { closeAllPeers } from './conclave/wrtc-peers.ts'

let exiting = false
async function exit(code = 0): Promise<void> {
  if (exiting) return
  exiting = true
  try {
    await Promise.race([down(), sleep(3000)])
  } finally {
    closeAllPeers()
    setTimeout(() => process.exit(code), 50)
  }
}

async function handle(c: Command): Promise<void> {
  switch (c.cmd) {
    case 'prepare':
      return prepare()
    case 'up':
      return up(c)
    case 'down':
      return down()
    case 'session':
      return openSession(c)
    case 'session-close': {
      const sid = str(c, 'sid')
      sessions.get(sid)?.close()
      sessions.delete(sid)
      emit('session-closed', { sid })
      return
    }
    case 'recv':
      return recv(c)
    case 'expect':
      return expect(c)
    case 'send':
      return send(c)
    case 'echo':
      return echo(c)
    case 'ping':
      return ping(c)
    case 'sum':
      return sum(c)
    case 'frost-dkg':
      return frostDkg(c)
    case 'frost-sign':
      return frostSign(c)
    case 'phases':
      return phases()
    case 'exit':
      return exit(0)
    default:
      throw new Error(`unknown command ${String(c.cmd)}`)
  }
}

serveCommands(handle, () => void exit(0))
