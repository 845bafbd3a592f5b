/**
 * The threshold-signing panel (FROST, Ed25519): "Create group key" proposes `frost-dkg` to this tab
 * and every ready party (threshold in the proposal's params); other tabs join by themselves. Every
 * participant keeps its key share in the store it is given (the page: localStorage, keyed by its
 * PartyId and the group key — a demo: a real deployment keeps secret shares in protected storage).
 * "Sign" proposes `frost-sign` (group key and message in the params) to this tab and the chosen
 * holders; other holders see the message and sign with one click. Node parties run with
 * `conclave-party run --protocol frost-dkg --parties N --follow` (or `frost-sign --follow`) join by themselves.
 *
 * The flow itself (params, share store, propose / join / run) is `FrostFlow` of
 * `@conclave/protocols`; this module is its DOM.
 * @module
 */
import { fromHex, type PartyId, type ProposalInfo, toHex } from '@conclave/core'
import {
  FROST_DKG,
  FROST_SIGN,
  type FrostDkgJob,
  type FrostFlow,
  type FrostKeyShare,
  type FrostSignJob,
  type FrostSignRequest,
} from '@conclave/protocols'
import { ed25519 } from '@noble/curves/ed25519.js'
import { codeOf, roundTimeoutMs, type SessionCard, SessionCards } from './card.ts'
import { h, short } from './dom.ts'
import type { PeerTable } from './peers.ts'

/** The elements of the panel (index.html). */
export interface FrostForm {
  dkgForm: HTMLFormElement
  threshold: HTMLInputElement
  timeout: HTMLInputElement
  create: HTMLButtonElement
  signForm: HTMLFormElement
  key: HTMLSelectElement
  message: HTMLInputElement
  signers: HTMLElement
  sign: HTMLButtonElement
  status: HTMLElement
  keys: HTMLElement
}

const enc = new TextEncoder()
const dec = new TextDecoder()

/** The FROST panel of one party. */
export class FrostPanel {
  private readonly cards: SessionCards
  /** The shares in the store, as last read. */
  private held: FrostKeyShare[] = []
  /** Signers the user unticked / ticked by hand, per group key. */
  private chosen: Set<PartyId> | undefined
  private chosenFor = ''
  /** The user changed the default choice (the first t−1 ready holders) of `chosenFor`. */
  private touched = false
  private drawn = ''

  constructor(
    private readonly flow: FrostFlow,
    private readonly peers: PeerTable,
    private readonly form: FrostForm,
    list: HTMLElement,
  ) {
    const party = flow.party
    this.cards = new SessionCards(party, peers, list, 'frost')
    party.on('proposal', (ev) => {
      if (ev.proposal.protocol === FROST_DKG) this.dkgProposal(ev.proposal)
      else if (ev.proposal.protocol === FROST_SIGN) void this.signProposal(ev.proposal)
    })
    form.dkgForm.addEventListener('submit', (ev) => {
      ev.preventDefault()
      void this.createKey()
    })
    form.signForm.addEventListener('submit', (ev) => {
      ev.preventDefault()
      void this.startSign()
    })
    form.key.addEventListener('change', () => this.refresh())
    peers.onChange(() => this.refresh())
    void this.refreshKeys()
  }

  private get self(): PartyId {
    return this.flow.party.id
  }

  private timeout(): number {
    return roundTimeoutMs(this.form.timeout)
  }

  /** The share of the key selected in the sign form. */
  private selected(): FrostKeyShare | undefined {
    return this.held.find((k) => k.groupPublicKey === this.form.key.value)
  }

  /** Reread the store; redraw the list of held keys and the key selector (selecting `select`). */
  private async refreshKeys(select?: string): Promise<void> {
    this.held = await this.flow.store.list()
    const keys = this.held
    const current = select ?? this.form.key.value
    this.form.key.replaceChildren(
      ...keys.map((k) =>
        h('option', {
          text: `${short(k.groupPublicKey)}… (${k.threshold} of ${k.participants.length})`,
          attrs: { value: k.groupPublicKey },
        }),
      ),
    )
    if (keys.some((k) => k.groupPublicKey === current)) this.form.key.value = current
    this.form.keys.replaceChildren(
      ...(keys.length === 0
        ? [h('li', { class: 'muted small', text: 'No key share yet.' })]
        : keys.map((k) =>
            h(
              'li',
              { class: 'small', testid: 'frost-key', dataset: { groupKey: k.groupPublicKey } },
              h('code', { class: 'full-id', text: k.groupPublicKey }),
              h('span', { class: 'muted', text: ` ${k.threshold} of ${k.participants.length}` }),
            ),
          )),
    )
    this.refresh()
  }

  /** Buttons and the signer checkboxes, from the ready set and the selected key. */
  private refresh(): void {
    const ready = this.peers.ready()
    this.form.create.disabled = ready.length === 0
    this.form.create.textContent =
      ready.length === 0
        ? 'Create group key (no ready party yet)'
        : `Create group key with ${ready.length + 1} parties`
    const share = this.selected()
    if (!share) {
      this.drawn = ''
      this.form.signers.replaceChildren()
      this.form.sign.disabled = true
      return
    }
    const holders = ready.filter((p) => share.participants.includes(p))
    if (this.chosenFor !== share.groupPublicKey || !this.chosen || !this.touched) {
      if (this.chosenFor !== share.groupPublicKey) this.touched = false
      this.chosenFor = share.groupPublicKey
      this.chosen = new Set(holders.slice(0, share.threshold - 1))
    }
    const chosen = this.chosen
    // keep the user's choice; drop parties that are no longer ready
    for (const p of [...chosen]) if (!holders.includes(p)) chosen.delete(p)
    // the ready set is announced every second: redraw only when something changed
    const drawn = `${share.groupPublicKey}|${holders.join()}|${[...chosen].join()}`
    if (drawn === this.drawn) return
    this.drawn = drawn
    this.form.signers.replaceChildren(
      ...holders.map((p) => {
        const box = h('input', {
          testid: 'frost-signer',
          dataset: { partyId: p },
          attrs: { type: 'checkbox' },
        })
        box.checked = chosen.has(p)
        box.addEventListener('change', () => {
          // this.chosen, not `chosen`: a later refresh may have replaced the set without a redraw
          const now = this.chosen ?? new Set<PartyId>()
          this.chosen = now
          this.touched = true
          if (box.checked) now.add(p)
          else now.delete(p)
          this.drawn = `${share.groupPublicKey}|${holders.join()}|${[...now].join()}`
          this.updateSignButton(share)
        })
        return h('label', { class: 'small signer' }, box, ` ${this.peers.name(p)}`)
      }),
    )
    this.updateSignButton(share)
  }

  private updateSignButton(share: FrostKeyShare): void {
    const n = (this.chosen?.size ?? 0) + 1
    this.form.sign.disabled = n < share.threshold
    this.form.sign.textContent =
      n < share.threshold ? `Sign (needs ${share.threshold} signers, ${n} chosen)` : `Sign with ${n} signers`
  }

  private couldNotPropose(e: unknown): void {
    this.form.status.textContent = `Could not propose: ${codeOf(e) ?? ''} ${e instanceof Error ? e.message : ''}`
  }

  // ── DKG ──

  private async createKey(): Promise<void> {
    const participants = [this.self, ...this.peers.ready()]
    const t = Number(this.form.threshold.value)
    if (!Number.isInteger(t) || t < 2 || t > participants.length) {
      this.form.status.textContent = `The threshold must be an integer from 2 to ${participants.length}.`
      return
    }
    this.form.status.textContent = ''
    let job: FrostDkgJob
    try {
      job = await this.flow.proposeDkg({ participants, threshold: t, roundTimeoutMs: this.timeout() })
    } catch (e) {
      this.couldNotPropose(e)
      return
    }
    const title = `You proposed a ${t}-of-${participants.length} group key`
    void this.runDkg(this.cards.add(job.session.id, title, participants, { kind: 'dkg' }), job)
  }

  private dkgProposal(p: ProposalInfo): void {
    if (this.cards.has(p.sessionId)) return
    const proposer = this.peers.name(p.proposer)
    const n = p.participants.length
    let threshold: number
    try {
      threshold = this.flow.readDkgProposal(p).threshold
    } catch (e) {
      const card = this.cards.add(p.sessionId, `${proposer} proposes a group key`, p.participants, {
        kind: 'dkg',
      })
      const code = codeOf(e) ?? 'ERROR'
      this.cards.decline(card, p, `The proposal's params are malformed (${code}).`, code)
      return
    }
    const title = `${proposer} proposes a ${threshold}-of-${n} group key`
    const card = this.cards.add(p.sessionId, title, p.participants, { kind: 'dkg' })
    // nothing to choose: join at once (a demo; the proposal names this party)
    let job: FrostDkgJob
    try {
      job = this.flow.joinDkg(p, { roundTimeoutMs: this.timeout() })
    } catch (e) {
      this.cards.cannotJoin(card, e)
      return
    }
    void this.runDkg(card, job)
  }

  private async runDkg(card: SessionCard, job: FrostDkgJob): Promise<void> {
    const { session, params } = job
    card.set(
      'running',
      h(
        'p',
        { class: 'muted' },
        `Generating a ${params.threshold}-of-${session.participants.length} key… `,
        h('span', { class: 'spinner' }),
      ),
    )
    try {
      const share = await job.run()
      card.el.dataset.groupKey = share.groupPublicKey
      card.set(
        'done',
        h(
          'div',
          { class: 'result' },
          h('div', {
            class: 'small',
            text: `Group public key (${share.threshold} of ${share.participants.length}):`,
          }),
          h('code', { class: 'full-id', testid: 'frost-group-key', text: share.groupPublicKey }),
          h('div', {
            class: 'muted small',
            text: `Your share #${share.index} is kept in this browser's localStorage (demo only: in clear).`,
          }),
        ),
      )
      await this.refreshKeys(share.groupPublicKey)
    } catch (e) {
      await this.cards.fail(card, session.id, e)
    } finally {
      session.close()
    }
  }

  // ── signing ──

  private async startSign(): Promise<void> {
    const share = this.selected()
    if (!share) return
    const text = this.form.message.value
    if (!text) {
      this.form.status.textContent = 'Enter a message first.'
      this.form.message.focus()
      return
    }
    const participants = [this.self, ...(this.chosen ?? [])]
    this.form.status.textContent = ''
    let job: FrostSignJob
    try {
      job = await this.flow.proposeSign({
        groupPublicKey: share.groupPublicKey,
        message: enc.encode(text),
        participants,
        roundTimeoutMs: this.timeout(),
      })
    } catch (e) {
      this.couldNotPropose(e)
      return
    }
    const title = `You proposed to sign “${text}” with ${participants.length} signers`
    void this.runSign(this.cards.add(job.session.id, title, participants, { kind: 'sign' }), job)
  }

  private async signProposal(p: ProposalInfo): Promise<void> {
    if (this.cards.has(p.sessionId)) return
    let request: FrostSignRequest | undefined
    try {
      request = await this.flow.readSignProposal(p)
    } catch {
      request = undefined
    }
    if (this.cards.has(p.sessionId)) return
    const text = request ? dec.decode(request.params.message) : '?'
    const title = `${this.peers.name(p.proposer)} asks you to sign “${text}” with ${p.participants.length} signers`
    const card = this.cards.add(p.sessionId, title, p.participants, { kind: 'sign' })
    const share = request?.share
    if (!request || !share) {
      const why = !request
        ? 'The proposal carries no message this page can read.'
        : `You hold no share of the group key ${short(request.params.groupPublicKey)}….`
      card.set('declined', h('p', { class: 'muted', text: why }))
      return
    }
    card.el.dataset.groupKey = share.groupPublicKey
    const sign = h('button', { class: 'primary', testid: 'frost-join', text: 'Sign' })
    const decline = h('button', { testid: 'frost-decline', text: 'Decline' })
    sign.addEventListener('click', () => {
      this.flow.joinSign(request, { roundTimeoutMs: this.timeout() }).then(
        (job) => this.runSign(card, job),
        (e: unknown) => this.cards.cannotJoin(card, e),
      )
    })
    decline.addEventListener('click', () => this.cards.decline(card, p))
    card.set(
      'proposal',
      h(
        'div',
        { class: 'row' },
        h('span', { class: 'muted small', text: `with your share of ${short(share.groupPublicKey)}… ` }),
        sign,
        decline,
      ),
    )
  }

  private async runSign(card: SessionCard, job: FrostSignJob): Promise<void> {
    const { session, share } = job
    const message = job.params.message
    card.el.dataset.groupKey = share.groupPublicKey
    card.set('running', h('p', { class: 'muted' }, 'Signing… ', h('span', { class: 'spinner' })))
    try {
      const sig = await job.run()
      const verified = ed25519.verify(sig, message, fromHex(share.groupPublicKey))
      const hex = toHex(sig)
      card.el.dataset.signature = hex
      card.el.dataset.verified = String(verified)
      card.el.dataset.message = toHex(message)
      card.set(
        'done',
        h(
          'div',
          { class: 'result' },
          h('div', { class: 'small', text: 'Signature (Ed25519, hex):' }),
          h('code', { class: 'full-id', testid: 'frost-signature', text: hex }),
          h('div', {
            class: verified ? 'verified' : 'error',
            testid: 'frost-verified',
            text: verified ? 'verified ✓ (ed25519.verify against the group key)' : 'NOT verified ✗',
          }),
        ),
      )
    } catch (e) {
      await this.cards.fail(card, session.id, e)
    } finally {
      session.close()
    }
  }
}
