import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const wrtc = require('@roamhq/wrtc')
const SimplePeer = require('simple-peer')
const mode = process.argv[2]
async function pair() {
  const a = new SimplePeer({ initiator: true, wrtc, trickle: true, config: { iceServers: [] }, channelConfig: { ordered: true } })
  const b = new SimplePeer({ initiator: false, wrtc, trickle: true, config: { iceServers: [] }, channelConfig: { ordered: true } })
  const lo = (d) => !d.candidate || d.candidate.candidate.includes(' 127.0.0.1 ')
  a.on('signal', (d) => lo(d) && !b.destroyed && b.signal(d))
  b.on('signal', (d) => lo(d) && !a.destroyed && a.signal(d))
  a.on('error', () => {}); b.on('error', () => {})
  await Promise.all([new Promise((r) => a.on('connect', r)), new Promise((r) => b.on('connect', r))])
  const closeIt = (sp) => { const pc = sp._pc; sp.destroy(); pc.close() }
  const done = new Promise((r) => b.on('data', () => {
    if (mode === 'inline') closeIt(b)
    else setImmediate(() => closeIt(b))
    r()
  }))
  a.send(new Uint8Array(100))
  closeIt(a)   // the sender closes right after sending, as party.stop does
  await done
  await new Promise((r) => setTimeout(r, 20))
}
for (let i = 0; i < 40; i++) await pair()
console.log('done', mode)
