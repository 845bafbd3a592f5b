/**
 * The threshold-signing panel (FROST, Ed25519): "Create group key" proposes `frost-dkg` to this tab
 * and every ready party (threshold in the proposal's params); other tabs join by themselves. Every
 * participant keeps its key share (`encodeKeyShare` text) in localStorage, keyed by its PartyId and
 * the group key — a demo: a real deployment keeps secret shares in protected storage. "Sign"
 * proposes `frost-sign` (group key and message in the params) to this tab and the chosen holders;
 * other holders see the message and sign with one click. Node parties run with
 * `conclave-party run --protocol frost-dkg|frost-sign --follow` join by themselves.
 * @module
 */
import {
  errorCode,
  fromHex,
  type Party,
  type PartyEvent,
  type PartyId,
  type ProposalInfo,
  type Session,
  type SessionId,
  toHex,
} from '@conclave/core'
import {
  decodeKeyShare,
  encodeKeyShare,
  FROST_DKG,
  FROST_SIGN,
  type FrostKeyShare,
  runFrostDkg,
  runFrostSign,
} from '@conclave/protocols'
import { ed25519 } from '@noble/curves/ed25519.js'
import { h, short } from './dom.ts'
import type { PeerTable } from './peers.ts'

type CardState = 'proposal' | 'running' | 'done' | 'aborted' | 'declined' | 'expired'

interface Card {
  el: HTMLElement
  body: HTMLElement
  state: CardState
}

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

/** What a `frost-sign` proposal of this page carries in its params. */
interface SignParams {
  groupPublicKey: string
  message: string // hex
}

const enc = new TextEncoder()
const dec = new TextDecoder()

function jsonParams(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v))
}

function readParams(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (bytes.length === 0) return undefined
  try {
    const v = JSON.parse(dec.decode(bytes)) as unknown
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** An error's code: ConclaveError or ProtocolError (`FROST_BAD_SHARE` …). */
function codeOf(e: unknown): string | undefined {
  return (
    errorCode(e) ??
    (typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined)
  )
}

function culpritOf(e: unknown): string | undefined {
  const c = (e as { details?: { culprit?: unknown } })?.details?.culprit
  return typeof c === 'string' ? c : undefined
}

/** Key shares of one PartyId in localStorage (DEMO ONLY: the secret share is stored in clear). */
class ShareStore {
  private readonly prefix: string
  constructor(self: PartyId) {
    this.prefix = `conclave.frost.${self}.`
  }
  save(share: FrostKeyShare): void {
    localStorage.setItem(this.prefix + share.groupPublicKey, encodeKeyShare(share))
  }
  get(groupKey: string): FrostKeyShare | undefined {
    const text = localStorage.getItem(this.prefix + groupKey)
    if (!text) return undefined
    try {
      return decodeKeyShare(text)
    } catch {
      return undefined
    }
  }
  /** Group keys held, newest first (by insertion order of the panel's list: localStorage has none). */
  list(): { groupKey: string; threshold: number; parties: number; participants: readonly PartyId[] }[] {
    const out = []
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i)
      if (!k?.startsWith(this.prefix)) continue
      const share = this.get(k.slice(this.prefix.length))
      if (share)
        out.push({
          groupKey: share.groupPublicKey,
          threshold: share.threshold,
          parties: share.participants.length,
          participants: share.participants,
        })
    }
    return out
  }
}

/** The FROST panel of one party. */
export class FrostPanel {
  private readonly cards = new Map<SessionId, Card>()
  private readonly aborts = new Map<SessionId, Extract<PartyEvent, { type: 'session' }>>()
  private readonly store: ShareStore
  /** Signers the user unticked / ticked by hand, per group key. */
  private chosen: Set<PartyId> | undefined
  private chosenFor = ''
  /** The user changed the default choice (the first t−1 ready holders) of `chosenFor`. */
  private touched = false
  private drawn = ''

  constructor(
    private readonly party: Party,
    private readonly peers: PeerTable,
    private readonly form: FrostForm,
    private readonly list: HTMLElement,
  ) {
    this.store = new ShareStore(party.id)
    party.on('proposal', (ev) => {
      if (ev.proposal.protocol === FROST_DKG) this.dkgProposal(ev.proposal)
      else if (ev.proposal.protocol === FROST_SIGN) this.signProposal(ev.proposal)
    })
    party.on('session', (ev) => {
      if (ev.state === 'aborted' && this.cards.has(ev.sessionId)) this.aborts.set(ev.sessionId, ev)
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
    this.refreshKeys()
  }

  private roundTimeoutMs(): number {
    const s = Number(this.form.timeout.value)
    return Number.isFinite(s) && s >= 1 ? Math.round(s * 1000) : 120_000
  }

  /** Redraw the list of held keys and the key selector. */
  private refreshKeys(): void {
    const keys = this.store.list()
    const current = this.form.key.value
    this.form.key.replaceChildren(
      ...keys.map((k) =>
        h('option', {
          text: `${short(k.groupKey)}… (${k.threshold} of ${k.parties})`,
          attrs: { value: k.groupKey },
        }),
      ),
    )
    if (keys.some((k) => k.groupKey === current)) this.form.key.value = current
    this.form.keys.replaceChildren(
      ...(keys.length === 0
        ? [h('li', { class: 'muted small', text: 'No key share yet.' })]
        : keys.map((k) =>
            h(
              'li',
              { class: 'small', testid: 'frost-key', dataset: { groupKey: k.groupKey } },
              h('code', { class: 'full-id', text: k.groupKey }),
              h('span', { class: 'muted', text: ` ${k.threshold} of ${k.parties}` }),
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
    const share = this.form.key.value ? this.store.get(this.form.key.value) : undefined
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

  // ── DKG ──

  private async createKey(): Promise<void> {
    const participants = [this.party.id, ...this.peers.ready()]
    const t = Number(this.form.threshold.value)
    if (!Number.isInteger(t) || t < 2 || t > participants.length) {
      this.form.status.textContent = `The threshold must be an integer from 2 to ${participants.length}.`
      return
    }
    this.form.status.textContent = ''
    let session: Session
    try {
      session = await this.party.propose({
        protocol: FROST_DKG,
        params: jsonParams({ threshold: t }),
        participants,
        roundTimeoutMs: this.roundTimeoutMs(),
      })
    } catch (e) {
      this.form.status.textContent = `Could not propose: ${codeOf(e) ?? ''} ${e instanceof Error ? e.message : ''}`
      return
    }
    const card = this.card(
      session.id,
      'dkg',
      `You proposed a ${t}-of-${participants.length} group key`,
      participants,
    )
    void this.runDkg(card, session, t)
  }

  private dkgProposal(p: ProposalInfo): void {
    if (this.cards.has(p.sessionId)) return
    const params = readParams(p.params)
    const t = typeof params?.threshold === 'number' ? params.threshold : Number(this.form.threshold.value)
    const card = this.card(
      p.sessionId,
      'dkg',
      `${this.peers.name(p.proposer)} proposes a ${t}-of-${p.participants.length} group key`,
      p.participants,
    )
    // nothing to choose: join at once (a demo; the proposal names this party)
    let session: Session
    try {
      session = this.party.join(p.sessionId, { roundTimeoutMs: this.roundTimeoutMs() })
    } catch (e) {
      this.set(card, 'expired', h('p', { class: 'muted', text: `Cannot join: ${codeOf(e) ?? String(e)}` }))
      return
    }
    void this.runDkg(card, session, t)
  }

  private async runDkg(card: Card, session: Session, threshold: number): Promise<void> {
    this.set(
      card,
      'running',
      h(
        'p',
        { class: 'muted' },
        `Generating a ${threshold}-of-${session.participants.length} key… `,
        h('span', { class: 'spinner' }),
      ),
    )
    try {
      const share = await runFrostDkg(session, { threshold })
      this.store.save(share)
      card.el.dataset.groupKey = share.groupPublicKey
      this.set(
        card,
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
      this.form.key.value = share.groupPublicKey
      this.refreshKeys()
      this.form.key.value = share.groupPublicKey
      this.refresh()
    } catch (e) {
      await this.failed(card, session, e)
    } finally {
      session.close()
    }
  }

  // ── signing ──

  private async startSign(): Promise<void> {
    const share = this.store.get(this.form.key.value)
    if (!share) return
    const text = this.form.message.value
    if (!text) {
      this.form.status.textContent = 'Enter a message first.'
      this.form.message.focus()
      return
    }
    const message = enc.encode(text)
    const participants = [this.party.id, ...(this.chosen ?? [])]
    this.form.status.textContent = ''
    let session: Session
    try {
      session = await this.party.propose({
        protocol: FROST_SIGN,
        params: jsonParams({
          groupPublicKey: share.groupPublicKey,
          message: toHex(message),
        } satisfies SignParams),
        participants,
        roundTimeoutMs: this.roundTimeoutMs(),
      })
    } catch (e) {
      this.form.status.textContent = `Could not propose: ${codeOf(e) ?? ''} ${e instanceof Error ? e.message : ''}`
      return
    }
    const card = this.card(
      session.id,
      'sign',
      `You proposed to sign “${text}” with ${participants.length} signers`,
      participants,
    )
    void this.runSign(card, session, share, message)
  }

  private signProposal(p: ProposalInfo): void {
    if (this.cards.has(p.sessionId)) return
    const params = readParams(p.params)
    const groupKey = typeof params?.groupPublicKey === 'string' ? params.groupPublicKey : undefined
    const messageHex = typeof params?.message === 'string' ? params.message : undefined
    let message: Uint8Array | undefined
    try {
      message = messageHex === undefined ? undefined : fromHex(messageHex)
    } catch {
      message = undefined
    }
    const share = groupKey ? this.store.get(groupKey) : undefined
    const text = message ? dec.decode(message) : '?'
    const card = this.card(
      p.sessionId,
      'sign',
      `${this.peers.name(p.proposer)} asks you to sign “${text}” with ${p.participants.length} signers`,
      p.participants,
    )
    if (!share || !message) {
      const why = !message
        ? 'The proposal carries no message this page can read.'
        : `You hold no share of the group key ${short(groupKey ?? '')}….`
      this.set(card, 'declined', h('p', { class: 'muted', text: why }))
      return
    }
    card.state = 'proposal'
    card.el.dataset.state = 'proposal'
    card.el.dataset.groupKey = share.groupPublicKey
    const sign = h('button', { class: 'primary', testid: 'frost-join', text: 'Sign' })
    const decline = h('button', { testid: 'frost-decline', text: 'Decline' })
    sign.addEventListener('click', () => {
      let session: Session
      try {
        session = this.party.join(p.sessionId, { roundTimeoutMs: this.roundTimeoutMs() })
      } catch (e) {
        this.set(card, 'expired', h('p', { class: 'muted', text: `Cannot join: ${codeOf(e) ?? String(e)}` }))
        return
      }
      void this.runSign(card, session, share, message)
    })
    decline.addEventListener('click', () => {
      try {
        const session = this.party.join(p.sessionId)
        void session.abort('declined').finally(() => session.close())
      } catch {
        // expired: nothing to tell
      }
      this.set(card, 'declined', h('p', { class: 'muted', text: 'You declined.' }))
    })
    card.body.replaceChildren(
      h(
        'div',
        { class: 'row' },
        h('span', { class: 'muted small', text: `with your share of ${short(share.groupPublicKey)}… ` }),
        sign,
        decline,
      ),
    )
  }

  private async runSign(
    card: Card,
    session: Session,
    share: FrostKeyShare,
    message: Uint8Array,
  ): Promise<void> {
    card.el.dataset.groupKey = share.groupPublicKey
    this.set(card, 'running', h('p', { class: 'muted' }, 'Signing… ', h('span', { class: 'spinner' })))
    try {
      const sig = await runFrostSign(session, share, message)
      const verified = ed25519.verify(sig, message, fromHex(share.groupPublicKey))
      const hex = toHex(sig)
      card.el.dataset.signature = hex
      card.el.dataset.verified = String(verified)
      card.el.dataset.message = toHex(message)
      this.set(
        card,
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
      await this.failed(card, session, e)
    } finally {
      session.close()
    }
  }

  // ── cards ──

  private async failed(card: Card, session: Session, e: unknown): Promise<void> {
    // give the abort event (code, who was silent, who aborted) a moment to arrive
    await new Promise((r) => setTimeout(r, 50))
    const ev = this.aborts.get(session.id)
    const code = codeOf(e) ?? ev?.code ?? 'ERROR'
    const culprit = culpritOf(e)
    const silent = ev?.silent?.map((p) => this.peers.name(p)).join(', ')
    const reason = e instanceof Error ? e.message : (ev?.reason ?? String(e))
    card.el.dataset.code = code
    this.set(
      card,
      'aborted',
      h(
        'div',
        { class: 'error', testid: 'frost-error', dataset: { code } },
        h('strong', { class: 'code', text: code }),
        h('span', { text: ` ${reason}` }),
        culprit ? h('div', { text: `culprit: ${this.name(culprit as PartyId)}` }) : null,
        ev?.reason && ev.reason !== reason ? h('div', { text: `abort reason: ${ev.reason}` }) : null,
        silent ? h('div', { text: `silent: ${silent}` }) : null,
        ev?.by && ev.by !== this.party.id ? h('div', { text: `aborted by ${this.peers.name(ev.by)}` }) : null,
      ),
    )
  }

  private name(p: PartyId): string {
    return p === this.party.id ? 'you' : this.peers.name(p)
  }

  private card(id: SessionId, kind: 'dkg' | 'sign', title: string, participants: readonly PartyId[]): Card {
    const body = h('div', { class: 'sum-body' })
    const el = h(
      'li',
      { class: 'sum-card', testid: 'frost-session', dataset: { sessionId: id, kind, state: 'running' } },
      h(
        'div',
        { class: 'sum-head' },
        h('span', { text: title }),
        h('code', { class: 'pid', title: `session ${id}`, text: short(id) }),
      ),
      h('div', { class: 'muted small', text: participants.map((p) => this.name(p)).join(' · ') }),
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
