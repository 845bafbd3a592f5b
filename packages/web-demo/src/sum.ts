/**
 * The secure-sum panel: start a session with every ready party (this tab proposes), answer the
 * proposals of others with a number, and see each session end with its total or its abort code.
 * Node parties started with `conclave-party run --protocol secure-sum --follow` join by themselves.
 * @module
 */
import type { Party, ProposalInfo, Session } from '@conclave/core'
import { runSecureSum, SECURE_SUM } from '@conclave/protocols'
import { codeOf, roundTimeoutMs, type SessionCard, SessionCards } from './card.ts'
import { h } from './dom.ts'
import type { PeerTable } from './peers.ts'

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
  private readonly cards: SessionCards

  constructor(
    private readonly party: Party,
    private readonly peers: PeerTable,
    private readonly form: SumForm,
    list: HTMLElement,
  ) {
    this.cards = new SessionCards(party, peers, list, 'sum')
    party.on('proposal', (ev) => {
      if (ev.proposal.protocol === SECURE_SUM) this.proposal(ev.proposal)
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
        roundTimeoutMs: roundTimeoutMs(this.form.timeout),
      })
    } catch (e) {
      this.form.status.textContent = `Could not propose: ${codeOf(e) ?? ''} ${e instanceof Error ? e.message : ''}`
      return
    }
    const card = this.cards.add(
      session.id,
      `You proposed secure-sum among ${participants.length} parties`,
      participants,
    )
    void this.run(card, session, input)
  }

  private proposal(p: ProposalInfo): void {
    if (this.cards.has(p.sessionId)) return
    const card = this.cards.add(
      p.sessionId,
      `${this.peers.name(p.proposer)} proposes secure-sum among ${p.participants.length} parties`,
      p.participants,
    )
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
      this.cards.decline(card, p)
    })
    card.set('proposal', form)
  }

  private join(card: SessionCard, p: ProposalInfo, input: bigint): void {
    let session: Session
    try {
      session = this.party.join(p.sessionId, { roundTimeoutMs: roundTimeoutMs(this.form.timeout) })
    } catch (e) {
      this.cards.cannotJoin(card, e)
      return
    }
    void this.run(card, session, input)
  }

  private async run(card: SessionCard, session: Session, input: bigint): Promise<void> {
    card.set(
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
      card.set(
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
      await this.cards.fail(card, session.id, e)
    } finally {
      session.close()
    }
  }
}
