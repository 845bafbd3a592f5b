/**
 * The session card that the secure-sum and FROST panels share: one `<li>` per session with a
 * title, the participants, and a body that follows the session's state (a proposal to answer,
 * running, its result, or its failure with the code, the culprit, who was silent and who
 * aborted). Each panel fills the body with its own content; the card keeps the rest.
 *
 * Selectors (e2e): `[data-testid="<prefix>-session"]` with `data-session-id` and `data-state`,
 * `data-code` once aborted, and `[data-testid="<prefix>-error"]` inside.
 * @module
 */
import {
  errorCode,
  type Party,
  type PartyEvent,
  type PartyId,
  type ProposalInfo,
  type SessionId,
} from '@conclave/core'
import { isProtocolError } from '@conclave/protocols'
import { h, short } from './dom.ts'
import type { PeerTable } from './peers.ts'

/** States of a session card (its `data-state`). */
export type CardState = 'proposal' | 'running' | 'done' | 'aborted' | 'declined' | 'expired'

type AbortEvent = Extract<PartyEvent, { type: 'session' }>

/** One session's card. */
export class SessionCard {
  #state: CardState = 'running'

  constructor(
    /** The card (`<li>`): panels may add `data-*` results to it. */
    readonly el: HTMLElement,
    private readonly body: HTMLElement,
  ) {}

  /** The state shown. */
  get state(): CardState {
    return this.#state
  }

  /** Show `state` with `content` as the body. */
  set(state: CardState, content: HTMLElement): void {
    this.#state = state
    this.el.dataset.state = state
    this.body.replaceChildren(content)
  }
}

/** The round timeout a panel's timeout field asks for (seconds → ms). @default 120 s */
export function roundTimeoutMs(input: HTMLInputElement): number {
  const s = Number(input.value)
  return Number.isFinite(s) && s >= 1 ? Math.round(s * 1000) : 120_000
}

/** The error's code: a ConclaveError's, a ProtocolError's (`FROST_BAD_SHARE` …), or undefined. */
export function codeOf(e: unknown): string | undefined {
  return errorCode(e) ?? (isProtocolError(e) ? e.code : undefined)
}

/** The session cards of one panel, newest first, in `list`. */
export class SessionCards {
  private readonly cards = new Map<SessionId, SessionCard>()
  private readonly aborts = new Map<SessionId, AbortEvent>()

  /**
   * @param prefix of the test ids: `<prefix>-session` on cards, `<prefix>-error` on failures
   */
  constructor(
    private readonly party: Party,
    private readonly peers: PeerTable,
    private readonly list: HTMLElement,
    private readonly prefix: 'sum' | 'frost',
  ) {
    party.on('session', (ev) => {
      if (ev.state === 'aborted' && this.cards.has(ev.sessionId)) this.aborts.set(ev.sessionId, ev)
    })
  }

  /** True when the panel already shows a card for `id`. */
  has(id: SessionId): boolean {
    return this.cards.has(id)
  }

  /** A party's name, `you` for this party. */
  name(p: PartyId): string {
    return p === this.party.id ? 'you' : this.peers.name(p)
  }

  /** Add a running card at the top of the list. */
  add(
    id: SessionId,
    title: string,
    participants: readonly PartyId[],
    dataset: Record<string, string> = {},
  ): SessionCard {
    const body = h('div', { class: 'sum-body' })
    const el = h(
      'li',
      {
        class: 'sum-card',
        testid: `${this.prefix}-session`,
        dataset: { sessionId: id, ...dataset, state: 'running' },
      },
      h(
        'div',
        { class: 'sum-head' },
        h('span', { text: title }),
        h('code', { class: 'pid', title: `session ${id}`, text: short(id) }),
      ),
      h('div', { class: 'muted small', text: participants.map((p) => this.name(p)).join(' · ') }),
      body,
    )
    const card = new SessionCard(el, body)
    this.cards.set(id, card)
    this.list.querySelector(':scope > .empty')?.remove()
    this.list.prepend(el)
    return card
  }

  /** Show that a join failed (the proposal expired, or was joined already). */
  cannotJoin(card: SessionCard, e: unknown): void {
    card.set('expired', h('p', { class: 'muted', text: `Cannot join: ${codeOf(e) ?? String(e)}` }))
  }

  /**
   * Decline `p`: join it only to send a signed abort, so that the others learn at once instead
   * of timing out; the card says `why`.
   */
  decline(card: SessionCard, p: ProposalInfo, why = 'You declined.', reason = 'declined'): void {
    try {
      const session = this.party.join(p.sessionId)
      void session.abort(reason).finally(() => session.close())
    } catch {
      // expired: nothing to tell
    }
    card.set('declined', h('p', { class: 'muted', text: why }))
  }

  /**
   * Show the failure `e` of session `id`: the code (a protocol's own error first, then the
   * abort event's, then the error's), the reason, the culprit, who was silent, who aborted.
   */
  async fail(card: SessionCard, id: SessionId, e: unknown): Promise<void> {
    // give the abort event (code, who was silent, who aborted) a moment to arrive
    await new Promise((r) => setTimeout(r, 50))
    const ev = this.aborts.get(id)
    const own = isProtocolError(e) ? e : undefined
    const code = own?.code ?? ev?.code ?? codeOf(e) ?? 'ERROR'
    const reason = own?.message ?? ev?.reason ?? (e instanceof Error ? e.message : String(e))
    const culprit = own?.details.culprit
    const silent = ev?.silent?.map((p) => this.peers.name(p)).join(', ')
    card.el.dataset.code = code
    card.set(
      'aborted',
      h(
        'div',
        { class: 'error', testid: `${this.prefix}-error`, dataset: { code } },
        h('strong', { class: 'code', text: code }),
        h('span', { text: ` ${reason}` }),
        culprit ? h('div', { text: `culprit: ${this.name(culprit)}` }) : null,
        ev?.reason && ev.reason !== reason ? h('div', { text: `abort reason: ${ev.reason}` }) : null,
        silent ? h('div', { text: `silent: ${silent}` }) : null,
        ev?.by && ev.by !== this.party.id ? h('div', { text: `aborted by ${this.peers.name(ev.by)}` }) : null,
      ),
    )
  }
}
