/**
 * What `conclave-party` prints: one closed union of events, written by the CLI's output
 * (`--json`: one JSON object per line, with a `time`) and read by every reader of those lines
 * (the node-party tests, the e2e suite).
 *
 * Fields are in their JSON form: ids and keys are hex strings, big integers decimal strings.
 * @module
 */

/** `keygen`: a new identity file was written. */
export interface KeygenEvent {
  event: 'keygen'
  partyId: string
  file: string
}

/** `ready`: the party is registered and in its room. */
export interface ReadyEvent {
  event: 'ready'
  partyId: string
  room: string
  /** `open` without a roster (any party that proves its key is accepted). */
  mode: 'open' | 'roster'
  /** The signaling server's URL. */
  signal: string
}

/** `warning` / `notice`: a sentence for the operator. */
export interface NoticeEvent {
  event: 'warning' | 'notice'
  message: string
}

/** `peer`: a link to a peer changed state (DESIGN "Connections"). */
export interface PeerEvent {
  event: 'peer'
  peer: string
  state: string
  transport: string
  code?: string | undefined
  reason?: string | undefined
}

/** `handshake-failed`, `alarm`, `drop`: something a peer sent was refused. */
export interface RefusalEvent {
  event: 'handshake-failed' | 'alarm' | 'drop'
  /** Absent from a `drop` of something no peer can be blamed for. */
  peer?: string | undefined
  code: string
  reason: string
}

/** `session`: a session aborted. */
export interface SessionEvent {
  event: 'session'
  sessionId: string
  state: 'aborted'
  code?: string | undefined
  by?: string | undefined
  silent?: string[] | undefined
}

/**
 * The steps of a coordinated run (`waiting`, `proposed`, `joined`, `declined`, `retry`).
 * `declined`: a proposal that does not match this party's flags or roster, not joined; `code` is
 * `PROPOSAL_PARTIES`, `PROPOSAL_STRANGER`, `PROPOSAL_PARAMS` or `SESSION_FINISHED` (run already).
 */
export type CoordinationEvent =
  | { event: 'waiting'; attempt: number; follow?: true; parties?: number }
  | { event: 'proposed'; attempt: number; sessionId: string; participants: string[] }
  | { event: 'joined'; attempt: number; sessionId: string; proposer: string }
  | { event: 'declined'; attempt: number; sessionId: string; proposer: string; code: string; reason: string }
  | { event: 'retry'; attempt: number; code: string; reason: string }

/** The result fields of each protocol (`conclave-party run --protocol …`). */
export interface ProtocolResult {
  /** secure-sum: the total, a decimal string. */
  total?: string
  /** frost-dkg and frost-sign: the group's Ed25519 public key (hex). */
  groupPublicKey?: string
  /** frost-dkg: the threshold, the number of parties, this party's index, the share file. */
  threshold?: number
  parties?: number
  index?: number
  share?: string
  /** frost-sign: the signature and the signed message (hex). */
  signature?: string
  message?: string
}

/** `result`: the protocol run ended with a result. */
export interface ResultEvent extends ProtocolResult {
  event: 'result'
  protocol: string
}

/** `error`: the run (or one `--serve` run) failed; `code` is a stable error code. */
export interface CliErrorEvent {
  event: 'error'
  code: string
  message: string
}

/** Every event `conclave-party` prints. */
export type CliEvent =
  | KeygenEvent
  | ReadyEvent
  | NoticeEvent
  | PeerEvent
  | RefusalEvent
  | SessionEvent
  | CoordinationEvent
  | ResultEvent
  | CliErrorEvent

/** The name of an event. */
export type CliEventName = CliEvent['event']

/** A line of a child's stdout that was not JSON, kept as text. */
export interface TextLine {
  event: 'text'
  text: string
}

type Timed<E> = E extends CliEvent ? E & { time: string } : never

/** One line of `conclave-party --json` as a reader gets it: an event with its `time`, or text. */
export type CliLine = Timed<CliEvent> | TextLine

/** The line of event `name` (one member of a type that covers several events, narrowed to it). */
export type CliLineOf<N extends CliLine['event']> = LineOf<CliLine, N>

type LineOf<X, N> = X extends { event: infer E } ? (N extends E ? X & { event: N } : never) : never

/**
 * A type guard for the lines of event `name`, optionally also matching `where`.
 * @example child.waitFor(isEvent('peer', (l) => l.state === 'ready'))
 */
export function isEvent<N extends CliLine['event']>(
  name: N,
  where?: (line: CliLineOf<N>) => boolean,
): (line: CliLine) => line is CliLineOf<N> {
  return (line): line is CliLineOf<N> => line.event === name && (!where || where(line as CliLineOf<N>))
}
