/**
 * The secure-sum panel: start a session with every ready party (this tab proposes), answer the
 * proposals of others with a number, and see each session end with its total or its abort code.
 * Node parties started with `conclave-party run --protocol secure-sum --follow` join by themselves.
 * @module
 */
import {
  errorCode,
  type Party,
  type PartyEvent,
  type PartyId,
  type ProposalInfo,
  type Session,
  type SessionId,
} from '@conclave/core'
import { runSecureSum, SECURE_SUM } from '@conclave/protocols'
import { h, short } from './dom.ts'
import type { PeerTable } from './peers.ts'

/** States of one secure-sum card. */
type CardState = 'proposal' | 'running' | 'done' | 'aborted' | 'declined' | 'expired'

interface Card {
  el: HTMLElement
  body: HTMLElement
  state: CardState
}

/** Inputs of the proposer's form. */
export interface SumForm {
  form: HTMLFormElement
  input: HTMLInputElement
  timeout: HTMLInputElement
  start: HTMLButtonElement
  status: HTMLElement
}

/** Parse an integer input; undefined when it is not one (secure-sum takes |x| < 2¹²⁶). */
function parseInput(text: string): bigint | undefined {
  const t = text.trim()
  if (!/^-?\d{1,37}$/.test(t)) return undefined
  return BigInt(t)
}

/** The secure-sum panel of one party. */
export class SumPanel {
  private readonly cards = new Map<SessionId, Card>()
  private readonly aborts = new Map<SessionId, Extract<PartyEvent, { type: 'session' }>>()

  constructor(
    private readonly party: Party,
    private readonly peers: PeerTable,
    private readonly form: SumForm,
    private readonly list: HTMLElement,
  ) {
    party.on('proposal', (ev) => {
      if (ev.proposal.protocol === SECURE_SUM) this.proposal(ev.proposal)
    })
    party.on('session', (ev) => {
      if (ev.state === 'aborted' && this.cards.has(ev.sessionId)) this.aborts.set(ev.sessionId, ev)
    })
    form.form.addEventListener('submit', (ev) => {
      ev.preventDefault()
      void this.start()
    })
    peers.onChange(() => this.refresh())
    this.refresh()
  }

  /** Enable the start button when there is someone to sum with. */
  private refresh(): void {
    const n = this.peers.ready().length
    this.form.start.disabled = n === 0
    this.form.start.textContent = n === 0 ? 'Start (no ready party yet)' : `Start with ${n + 1} parties`
  }

  private roundTimeoutMs(): number {
    const s = Number(this.form.timeout.value)
    return Number.isFinite(s) && s >= 1 ? Math.round(s * 1000) : 120_000
  }

  private async start(): Promise<void> {
    const input = parseInput(this.form.input.value)
    if (input === undefined) {
      this.form.status.textContent = 'Enter an integer first.'
      this.form.input.focus()
      return
    }
    const participants = [this.party.id, ...this.peers.ready()]
    if (participants.length < 2) return
    this.form.status.textContent = ''
    let session: Session
    try {
      session = await this.party.propose({
        protocol: SECURE_SUM,
        participants,
        roundTimeoutMs: this.roundTimeoutMs(),
      })
    } catch (e) {
      this.form.status.textContent = `Could not propose: ${errorCode(e) ?? ''} ${e instanceof Error ? e.message : ''}`
      return
    }
    const card = this.card(
      session.id,
      `You proposed secure-sum among ${participants.length} parties`,
      participants,
    )
    void this.run(card, session, input)
  }

  private proposal(p: ProposalInfo): void {
    if (this.cards.has(p.sessionId)) return
    const card = this.card(
      p.sessionId,
      `${this.peers.name(p.proposer)} proposes secure-sum among ${p.participants.length} parties`,
      p.participants,
    )
    card.state = 'proposal'
    card.el.dataset.state = 'proposal'
    const input = h('input', {
      class: 'num',
      testid: 'sum-join-input',
      attrs: { inputmode: 'numeric', placeholder: 'your number', 'aria-label': 'your number' },
    })
    const join = h('button', { class: 'primary', testid: 'sum-join', text: 'Join' })
    const decline = h('button', { testid: 'sum-decline', text: 'Decline' })
    const form = h('form', { class: 'row' }, input, join, decline)
    form.addEventListener('submit', (ev) => {
      ev.preventDefault()
      const value = parseInput(input.value)
      if (value === undefined) {
        input.setCustomValidity('an integer')
        input.reportValidity()
        return
      }
      this.join(card, p, value)
    })
    input.addEventListener('input', () => input.setCustomValidity(''))
    decline.addEventListener('click', (ev) => {
      ev.preventDefault()
      this.decline(card, p)
    })
    card.body.replaceChildren(form)
  }

  private join(card: Card, p: ProposalInfo, input: bigint): void {
    let session: Session
    try {
      session = this.party.join(p.sessionId, { roundTimeoutMs: this.roundTimeoutMs() })
    } catch (e) {
      this.set(card, 'expired', h('p', { class: 'muted', text: `Cannot join: ${errorCode(e) ?? String(e)}` }))
      return
    }
    void this.run(card, session, input)
  }

  /** Join only to send a signed abort, so that the others learn at once instead of timing out. */
  private decline(card: Card, p: ProposalInfo): void {
    try {
      const session = this.party.join(p.sessionId)
      void session.abort('declined').finally(() => session.close())
    } catch {
      // expired: nothing to tell
    }
    this.set(card, 'declined', h('p', { class: 'muted', text: 'You declined.' }))
  }

  private async run(card: Card, session: Session, input: bigint): Promise<void> {
    this.set(
      card,
      'running',
      h(
        'p',
        { class: 'muted' },
        `Your number: ${input}. Exchanging shares… `,
        h('span', { class: 'spinner' }),
      ),
    )
    try {
      const total = await runSecureSum(session, input)
      card.el.dataset.total = total.toString()
      this.set(
        card,
        'done',
        h(
          'p',
          { class: 'result' },
          'Total ',
          h('strong', { testid: 'sum-total', text: total.toString() }),
          h('span', { class: 'muted', text: ` (your number: ${input})` }),
        ),
      )
    } catch (e) {
      // give the abort event (code, who was silent, who aborted) a moment to arrive
      await new Promise((r) => setTimeout(r, 50))
      const ev = this.aborts.get(session.id)
      const code = ev?.code ?? errorCode(e) ?? 'ERROR'
      const silent = ev?.silent?.map((p) => this.peers.name(p)).join(', ')
      const reason = ev?.reason ?? (e instanceof Error ? e.message : String(e))
      card.el.dataset.code = code
      this.set(
        card,
        'aborted',
        h(
          'div',
          { class: 'error', testid: 'sum-error', dataset: { code } },
          h('strong', { class: 'code', text: code }),
          h('span', { text: ` ${reason}` }),
          silent ? h('div', { text: `silent: ${silent}` }) : null,
          ev?.by && ev.by !== this.party.id
            ? h('div', { text: `aborted by ${this.peers.name(ev.by)}` })
            : null,
        ),
      )
    } finally {
      session.close()
    }
  }

  private card(id: SessionId, title: string, participants: readonly PartyId[]): Card {
    const body = h('div', { class: 'sum-body' })
    const el = h(
      'li',
      { class: 'sum-card', testid: 'sum-session', dataset: { sessionId: id, state: 'running' } },
      h(
        'div',
        { class: 'sum-head' },
        h('span', { text: title }),
        h('code', { class: 'pid', title: `session ${id}`, text: short(id) }),
      ),
      h('div', {
        class: 'muted small',
        text: participants.map((p) => (p === this.party.id ? 'you' : this.peers.name(p))).join(' · '),
      }),
      body,
    )
    const card: Card = { el, body, state: 'running' }
    this.cards.set(id, card)
    this.list.querySelector(':scope > .empty')?.remove()
    this.list.prepend(el)
    return card
  }

  private set(card: Card, state: CardState, content: HTMLElement): void {
    card.state = state
    card.el.dataset.state = state
    card.body.replaceChildren(content)
  }
}
