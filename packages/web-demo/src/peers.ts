/**
 * The other parties of the room: who is present (signaling presence, with labels), the state of
 * the link to each (transport and session host events), and RTT and health of the ready ones
 * (`party.peers()`, polled).
 * @module
 */
import type { Party, PartyEvent, PartyId, PeerInfo, PeerState } from '@conclave/core'
import type { SignalingClient } from '@conclave/core/signaling'
import { frameScheduler, h, short } from './dom.ts'

/** What the page knows of one other party. */
export interface PeerRow {
  id: PartyId
  label: string | undefined
  /** In the room, according to the signaling server. */
  present: boolean
  state: PeerState
  transport: string | undefined
  code: string | undefined
  reason: string | undefined
  info: PeerInfo | undefined
}

const STATE_HELP: Record<PeerState, string> = {
  idle: 'no link yet',
  signaling: 'exchanging offers through the signaling server',
  connecting: 'ICE and DTLS under way',
  handshaking: 'authenticated key exchange (identity signatures, fingerprints)',
  ready: 'encrypted, authenticated link',
  lost: 'the link went away; it will be retried',
  backoff: 'waiting before the next attempt',
  closed: 'no link, and none being made',
}

/** The peer list: its model and its view. */
export class PeerTable {
  private readonly rows = new Map<PartyId, PeerRow>()
  private readonly redraw = frameScheduler(() => this.draw())
  private readonly listeners = new Set<() => void>()

  constructor(
    private readonly party: Party,
    signaling: SignalingClient,
    room: string,
    private readonly list: HTMLElement,
    private readonly counter: HTMLElement,
  ) {
    const seen = (id: string, label: string | undefined, present: boolean): void => {
      if (id === party.id) return
      const row = this.row(id as PartyId)
      if (label) row.label = label
      row.present = present
      this.changed()
    }
    signaling.on('joined', (ev) => {
      if (ev.room !== room) return
      for (const p of ev.peers) seen(p.partyId, p.label, true)
    })
    signaling.on('presence', (ev) => {
      if (ev.room === room) seen(ev.party.partyId, ev.party.label, ev.event === 'joined')
    })
    party.on('peer', (ev: Extract<PartyEvent, { type: 'peer' }>) => {
      const row = this.row(ev.peer)
      row.state = ev.state
      row.transport = ev.transport
      row.code = ev.code
      row.reason = ev.reason
      this.changed()
    })
    // RTT and health move without events: refresh them every second
    setInterval(() => this.changed(), 1000)
  }

  /** Subscribe to changes of the ready set (for the pages's other views). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** The peers with a ready link, in PartyId order. */
  ready(): PartyId[] {
    return this.party
      .peers()
      .map((p) => p.peer)
      .sort()
  }

  /** The label of a party, when the signaling server told it. */
  label(id: PartyId): string | undefined {
    return this.rows.get(id)?.label
  }

  /** "label (abcd1234)" or just the short id. */
  name(id: PartyId): string {
    const label = this.label(id)
    return label ? `${label} (${short(id)})` : short(id)
  }

  private row(id: PartyId): PeerRow {
    let row = this.rows.get(id)
    if (!row) {
      row = {
        id,
        label: undefined,
        present: false,
        state: 'idle',
        transport: undefined,
        code: undefined,
        reason: undefined,
        info: undefined,
      }
      this.rows.set(id, row)
    }
    return row
  }

  private changed(): void {
    this.redraw()
    for (const fn of this.listeners) fn()
  }

  private draw(): void {
    const infos = new Map(this.party.peers().map((p) => [p.peer, p]))
    const shown: PeerRow[] = []
    for (const row of this.rows.values()) {
      row.info = infos.get(row.id)
      // the snapshot of ready peers is the truth; events say how the others are doing
      if (row.info) {
        row.state = 'ready'
        row.transport = row.info.transport
      } else if (row.state === 'ready') row.state = 'lost'
      const active = row.state !== 'closed' && row.state !== 'idle'
      if (row.present || active) shown.push(row)
    }
    shown.sort((a, b) => (a.id < b.id ? -1 : 1))
    const ready = shown.filter((r) => r.state === 'ready').length
    this.counter.textContent = `${ready} ready of ${shown.length}`
    this.counter.dataset.ready = String(ready)
    this.list.replaceChildren(
      ...(shown.length === 0
        ? [h('li', { class: 'empty', text: 'No other party in this room yet. Open another tab.' })]
        : shown.map((r) => this.drawRow(r))),
    )
  }

  private drawRow(r: PeerRow): HTMLElement {
    const rtt = r.info?.rttMs
    const health = r.info?.health
    const why = r.code ? `${r.code}${r.reason ? `: ${r.reason}` : ''}` : ''
    return h(
      'li',
      {
        class: `peer state-${r.state}`,
        testid: 'peer',
        dataset: { partyId: r.id, state: r.state, transport: r.transport ?? '' },
      },
      h(
        'div',
        { class: 'peer-name' },
        h('span', { class: 'label', text: r.label ?? 'unnamed' }),
        h('code', { class: 'pid', title: r.id, text: short(r.id) }),
        r.present ? null : h('span', { class: 'muted', text: 'left the room' }),
      ),
      h(
        'div',
        { class: 'peer-meta' },
        h('span', {
          class: `pill pill-${r.state}`,
          testid: 'peer-state',
          title: `${STATE_HELP[r.state]}${why ? ` — ${why}` : ''}`,
          text: r.state,
        }),
        h('span', { class: 'tag', title: 'transport', text: r.transport ?? '—' }),
        h('span', {
          class: 'metric',
          title: 'round-trip time (keepalive pings)',
          text: rtt === undefined ? 'rtt —' : `rtt ${rtt < 10 ? rtt.toFixed(1) : Math.round(rtt)} ms`,
        }),
        health === undefined
          ? h('span', { class: 'metric', text: 'health —' })
          : h(
              'span',
              {
                class: 'health',
                title: `health ${health.toFixed(2)}: 0.4·reliability + 0.3·latency + 0.3·uptime`,
              },
              h('span', { class: 'bar', attrs: { style: `width:${Math.round(health * 100)}%` } }),
            ),
      ),
      why && r.state !== 'ready' ? h('div', { class: 'peer-why', text: why }) : null,
    )
  }
}
