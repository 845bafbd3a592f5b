/**
 * The Conclave demo page: one party per tab. It claims this tab's identity, starts the party
 * (session host in a Web Worker with the identity's outbox store, webrtc links, signaling), and
 * wires the views: the parties of the room, chat, secure-sum, FROST threshold signing, and the
 * event log (handshake failures, drops, aborts with codes).
 *
 * After a reload the outbox store gives the party back its stream epoch (its peers see no
 * restart) and the sessions it had open: the chat resumes its pair sessions; a secure-sum or
 * FROST session in flight cannot go on (its protocol state lived in the page), so it is aborted
 * at once and its peers learn it now rather than at a round deadline.
 *
 * Tests read the page only through the DOM: `data-testid` attributes and visible text.
 * @module
 */
import { type PartyEvent, type PartyId, parseRoster, type Roster } from '@conclave/core'
import { FrostFlow } from '@conclave/protocols'
import { type ChatMessage, ChatService, localChatMemory } from './chat.ts'
import { readConfig } from './config.ts'
import { byId, clock, h, short } from './dom.ts'
import { FrostPanel } from './frost.ts'
import { claimIdentity, outboxDatabase, replaceIdentity } from './identity.ts'
import { LogView } from './log.ts'
import { PeerTable } from './peers.ts'
import { clickLatencyProbe, longTaskMeter } from './probe.ts'
import { createRuntime, pickCrypto, type Runtime } from './runtime.ts'
import { WebStorageShareStore } from './share-store.ts'
import { SumPanel } from './sum.ts'

function fatal(message: string): void {
  const el = byId('fatal')
  el.textContent = message
  el.hidden = false
}

async function main(): Promise<void> {
  clickLatencyProbe(byId<HTMLButtonElement>('latency-probe'), byId('latency-value'))
  longTaskMeter(byId('stall'))

  const config = readConfig(location)
  byId('room').textContent = `room ${config.room}`
  byId('signal-url').textContent = config.signal

  const crypto = await pickCrypto()
  const { identity, created } = await claimIdentity(crypto)
  const label = config.label ?? identity.label
  const self = byId('self')
  self.dataset.partyId = identity.partyId
  byId('self-label').textContent = label
  byId('self-id').textContent = short(identity.partyId)
  byId('self-id').title = identity.partyId
  byId('self-full').textContent = identity.partyId
  byId('key-storage').textContent =
    crypto.name === 'webcrypto' && !identity.key.extractable
      ? `${created ? 'New key' : 'Key'}: Ed25519 in WebCrypto, non-extractable, kept in this browser's IndexedDB.`
      : '⚠ This browser has no WebCrypto Ed25519: the key is stored raw (its seed) in IndexedDB.'
  let runtime: Runtime | undefined
  byId<HTMLButtonElement>('new-identity').addEventListener('click', async () => {
    if (!confirm('Make a new identity for this tab? The current key is deleted.')) return
    await runtime?.stop() // the Worker lets the outbox store go, so that it can be deleted
    await replaceIdentity(crypto, identity.partyId)
    location.reload()
  })

  let roster: Roster | undefined
  if (config.roster) {
    const res = await fetch(config.roster)
    if (!res.ok) throw new Error(`roster ${config.roster}: HTTP ${res.status}`)
    roster = parseRoster(await res.json())
  }
  const rt = await createRuntime({
    roster,
    crypto,
    identity: identity.key,
    label,
    room: config.room,
    signal: config.signal,
    iceServers: config.iceServers,
    iceRelayOnly: config.iceRelayOnly,
    outbox: config.outbox ? outboxDatabase(identity.partyId) : undefined,
  })
  runtime = rt
  const { party, signaling } = rt
  self.dataset.outbox = rt.outbox

  // trust mode
  const trust = byId('trust-mode')
  trust.textContent = party.open ? 'open mode' : `roster of ${roster?.parties.size ?? 0}`
  trust.title = party.open
    ? 'No roster: any party that proves its key is accepted.'
    : 'Only the parties of the roster are accepted.'
  trust.dataset.mode = party.open ? 'open' : 'roster'

  // signaling state
  const sigState = byId('signal-state')
  const showSignaling = (state: string): void => {
    sigState.textContent = `signaling: ${state}`
    sigState.dataset.state = state
  }
  showSignaling('connecting')
  signaling.on('state', showSignaling)

  const peers = new PeerTable(party, signaling, config.room, byId('peers'), byId('ready-count'))

  // ── chat ──
  const received = new LogView(byId('messages'), 100, byId('received-count'))
  const sentLog = new LogView(byId('messages'), 100)
  const chatTo = byId<HTMLSelectElement>('chat-to')
  const messageEntry = (m: ChatMessage, dir: 'in' | 'out'): HTMLElement => {
    const to = m.to === 'everyone' ? 'everyone' : m.to === party.id ? 'you' : peers.name(m.to)
    const from = m.from === party.id ? 'you' : peers.name(m.from)
    return h(
      'li',
      { class: `msg msg-${dir}`, testid: 'message', dataset: { dir, from: m.from } },
      h(
        'div',
        { class: 'msg-head' },
        h('span', { class: 'who', text: `${from} → ${to}` }),
        dir === 'in'
          ? h('span', {
              class: 'verified',
              title:
                'Delivered by the session host: strict Ed25519 signature, sender = authenticated link peer, fresh, not a replay.',
              text: '✓ verified',
            })
          : h('span', { class: 'sent', text: 'signed · sent' }),
        h('time', { text: clock(m.sentAt || Date.now()) }),
      ),
      h('div', { class: 'msg-text', text: m.text }),
    )
  }
  const chat = new ChatService(
    party,
    config.room,
    {
      message: (m) => received.append(() => messageEntry(m, 'in')),
      changed: () => {
        const current = chatTo.value
        const options = [
          h('option', { text: 'everyone', attrs: { value: 'everyone' } }),
          ...chat.peers().map((p) => h('option', { text: peers.name(p), attrs: { value: p } })),
        ]
        chatTo.replaceChildren(...options)
        if ([...chatTo.options].some((o) => o.value === current)) chatTo.value = current
        const n = chat.peers().length
        byId('chat-peers').textContent =
          n === 0 ? 'no chat partner yet' : `${n} chat partner${n === 1 ? '' : 's'}`
        byId('chat-peers').dataset.count = String(n)
      },
    },
    localChatMemory(party.id, config.room),
  )
  peers.onChange(() => chat.sync(peers.ready()))
  const chatText = byId<HTMLInputElement>('chat-text')
  const chatRepeat = byId<HTMLInputElement>('chat-repeat')
  const chatStatus = byId('chat-status')
  byId<HTMLFormElement>('chat-form').addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const text = chatText.value.trim()
    if (!text) return
    const to = chatTo.value === 'everyone' ? 'everyone' : (chatTo.value as PartyId)
    const repeat = Math.max(1, Math.min(10_000, Math.floor(Number(chatRepeat.value) || 1)))
    chatText.value = ''
    chatStatus.dataset.state = 'sending'
    const started = performance.now()
    try {
      const sent = await chat.send(to, text, repeat, (n) => {
        if (repeat > 1) chatStatus.textContent = `sent ${n} / ${repeat}…`
      })
      if (sent.length === 0) chatStatus.textContent = 'Nobody to send to yet.'
      else if (repeat > 1)
        chatStatus.textContent = `Sent ${sent.length} messages in ${Math.round(performance.now() - started)} ms.`
      else chatStatus.textContent = ''
      chatStatus.dataset.sent = String(sent.length)
      for (const m of sent) sentLog.append(() => messageEntry(m, 'out'))
    } catch (e) {
      chatStatus.textContent = `Not sent: ${e instanceof Error ? e.message : String(e)}`
    } finally {
      chatStatus.dataset.state = 'idle'
    }
  })

  // ── event log ──
  const events = new LogView(byId('events'), 100)
  const logEvent = (type: string, code: string, text: string): void =>
    events.append(() =>
      h(
        'li',
        { class: `event event-${type}`, testid: 'event', dataset: { type, code } },
        h('time', { text: clock(Date.now()) }),
        h('span', { class: 'code', text: code }),
        h('span', { class: 'text', text }),
      ),
    )
  party.on('event', (ev: PartyEvent) => {
    switch (ev.type) {
      case 'handshake-failed':
        logEvent(
          'handshake',
          ev.code,
          `handshake with ${peers.name(ev.peer)} failed (${ev.transport}): ${ev.reason}`,
        )
        break
      case 'drop':
        logEvent('drop', ev.code, `${ev.peer ? `from ${peers.name(ev.peer)}: ` : ''}${ev.reason}`)
        break
      case 'alarm':
        logEvent('alarm', ev.code, `${peers.name(ev.peer)}: ${ev.reason}`)
        break
      case 'session':
        if (ev.state === 'aborted') {
          const silent = ev.silent?.length
            ? ` — silent: ${ev.silent.map((p) => peers.name(p)).join(', ')}`
            : ''
          const by = ev.by ? ` — by ${ev.by === party.id ? 'you' : peers.name(ev.by)}` : ''
          logEvent(
            'abort',
            ev.code ?? 'SESSION_ABORTED',
            `session ${short(ev.sessionId)} aborted${by}${silent}`,
          )
        }
        break
      case 'peer':
        // LINK_CLOSED is an orderly close (e.g. the loser of two crossing offers): not news
        if ((ev.state === 'lost' || ev.state === 'closed') && ev.code && ev.code !== 'LINK_CLOSED') {
          logEvent(
            'link',
            ev.code,
            `link to ${peers.name(ev.peer)} ${ev.state}${ev.reason ? `: ${ev.reason}` : ''}`,
          )
        }
        break
      default:
        break
    }
  })
  signaling.on('error', (e) => logEvent('signaling', e.code, `signaling: ${e.message}`))
  if (rt.outboxError) {
    logEvent(
      'outbox',
      rt.outboxError.code,
      `outbox store not opened, running without one (a reload is a restart): ${rt.outboxError.message}`,
    )
  }

  // ── secure sum ──
  new SumPanel(
    party,
    peers,
    {
      form: byId<HTMLFormElement>('sum-form'),
      input: byId<HTMLInputElement>('sum-input'),
      timeout: byId<HTMLInputElement>('sum-timeout'),
      start: byId<HTMLButtonElement>('sum-start'),
      status: byId('sum-status'),
    },
    byId('sums'),
  )

  // ── threshold signing ──
  new FrostPanel(
    new FrostFlow(party, new WebStorageShareStore(localStorage, party.id)),
    peers,
    {
      dkgForm: byId<HTMLFormElement>('frost-dkg-form'),
      threshold: byId<HTMLInputElement>('frost-threshold'),
      timeout: byId<HTMLInputElement>('frost-timeout'),
      create: byId<HTMLButtonElement>('frost-create'),
      signForm: byId<HTMLFormElement>('frost-sign-form'),
      key: byId<HTMLSelectElement>('frost-key'),
      message: byId<HTMLInputElement>('frost-message'),
      signers: byId('frost-signers'),
      sign: byId<HTMLButtonElement>('frost-sign'),
      status: byId('frost-status'),
      keys: byId('frost-keys'),
    },
    byId('frost-sessions'),
  )

  try {
    await rt.start()
    // the sessions the outbox store kept: the chat resumes its own, the others are aborted
    const restored = rt.restored()
    const resumed = chat.resume(restored)
    for (const r of restored) {
      if (resumed.has(r.options.id)) continue
      try {
        const session = party.session(r.options)
        void session
          .abort('this tab reloaded: the protocol state of this session is gone')
          .catch(() => undefined)
          .finally(() => session.close())
      } catch {
        // refused (e.g. a participant the roster no longer has): it stays dormant
      }
    }
    self.dataset.started = 'true'
  } catch (e) {
    fatal(`Could not join ${config.signal}: ${e instanceof Error ? e.message : String(e)}`)
  }
  window.addEventListener('pagehide', () => void rt.stop())
}

main().catch((e: unknown) => fatal(e instanceof Error ? `${e.name}: ${e.message}` : String(e)))
