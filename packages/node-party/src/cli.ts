/**
 * `conclave-party`: keygen, and run a headless party (optionally a protocol, then exit).
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ConclaveError, errorCode, type PartyEvent, type Roster, type Session } from '@conclave/core'
import { createFileOutboxStore, createNodeCrypto } from '@conclave/core/node'
import { HELP, parseCommandLine, type RunArgs, UsageError } from './args.ts'
import { runCoordinated } from './coordinate.ts'
import { createFinishedSessionsFile, type FinishedSessions } from './finished-sessions.ts'
import { iceServersOption } from './ice.ts'
import { readIdentity, readRoster, writeNewIdentity } from './keyfile.ts'
import { startNodeParty } from './node-party.ts'
import { createOutput, type Output } from './output.ts'
import { type ProtocolRun, prepareProtocol } from './protocols.ts'

async function run(args: RunArgs, out: Output): Promise<number> {
  const crypto = createNodeCrypto()
  const { identity, label, warning } = await readIdentity(crypto, args.key)
  if (warning) out.emit({ event: 'warning', message: warning })
  const roster = args.roster ? await readRoster(args.roster) : undefined
  // check protocol files and arguments before meeting anyone
  const protocol = args.protocol ? await prepareProtocol(args) : undefined
  // a list, or a function that re-reads the file and mints TURN credentials per attempt (the
  // credentials' id: this party's id, which the TURN server's log then shows)
  const iceServers = await iceServersOption(args, identity.id.slice(0, 16))
  await mkdir(args.state, { recursive: true, mode: 0o700 })
  const finished = createFinishedSessionsFile(join(args.state, 'sessions.txt'))
  const abort = new AbortController()
  const node = await startNodeParty(
    {
      crypto,
      identity: identity.key,
      signal: args.signal,
      signalUrls: args.signalUrls,
      room: args.room,
      roster,
      label: args.label ?? label,
      iceServers,
      ...(args.iceRelayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
      loopbackOnly: args.loopbackOnly,
      transport: args.transport,
      inThread: args.inThread,
      grantStoreFile: join(args.state, 'grants.jsonl'),
      ...(args.outbox
        ? {
            outbox: createFileOutboxStore(args.outbox, {
              onWarning: (message) => out.emit({ event: 'warning', message }),
            }),
          }
        : {}),
    },
    { signal: abort.signal },
  )
  const { party } = node
  let stopping = false
  const stop = async (code: number): Promise<number> => {
    if (stopping) return code
    stopping = true
    // The process exits next. Closing wrtc's peer connections right before exit crashes it
    // (SIGSEGV) about one time in four here (a known node-webrtc teardown bug), so at exit the
    // connections are left to the OS: the peers see the channels close when the process ends.
    node.signaling.stop()
    return code
  }
  /** The first alarm of the run: what the last line names if the run then fails. */
  let alarm: Extract<PartyEvent, { type: 'alarm' }> | undefined
  party.on('event', (ev: PartyEvent) => {
    if (ev.type === 'peer') {
      out.emit({
        event: 'peer',
        peer: ev.peer,
        state: ev.state,
        transport: ev.transport,
        code: ev.code,
        reason: ev.reason,
      })
    } else if (ev.type === 'handshake-failed') {
      out.emit({ event: 'handshake-failed', peer: ev.peer, code: ev.code, reason: ev.reason })
    } else if (ev.type === 'alarm') {
      alarm ??= ev
      out.emit({ event: 'alarm', peer: ev.peer, code: ev.code, reason: ev.reason })
    } else if (ev.type === 'session' && ev.state === 'aborted') {
      out.emit({
        event: 'session',
        sessionId: ev.sessionId,
        state: ev.state,
        code: ev.code,
        by: ev.by,
        silent: ev.silent,
      })
    } else if (ev.type === 'drop') {
      out.emit({ event: 'drop', code: ev.code, peer: ev.peer, reason: ev.reason })
    }
  })
  out.emit({
    event: 'ready',
    partyId: party.id,
    room: args.room,
    mode: party.open ? 'open' : 'roster',
    signal: args.signal,
  })
  if (party.open)
    out.emit({
      event: 'notice',
      message: 'open mode: any party that proves its key is accepted (pass --roster to restrict)',
    })

  if (!args.protocol) {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    return stop(0)
  }
  if (args.serve) return stop(await serve(args, party, out, protocol!, roster, finished))
  const deadline = Date.now() + args.timeoutMs
  const timer = setTimeout(() => abort.abort(), args.timeoutMs)
  const onSignal = (): void => abort.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const result = await runCoordinated(party, {
      protocol: args.protocol,
      ...(protocol!.params ? { params: protocol!.params } : {}),
      parties: args.parties ?? 0,
      ...(roster ? { roster: roster.parties } : {}),
      finished,
      follow: args.follow,
      roundTimeoutMs: args.roundTimeoutMs,
      deadline,
      signal: abort.signal,
      run: (session: Session) => protocol!.run(session),
      progress: (step) => out.emit(step),
    })
    out.emit({ event: 'result', protocol: args.protocol, ...result })
    // let the last frames leave before the links close (acknowledged delivery is a later layer)
    await new Promise((r) => setTimeout(r, 1000))
    return await stop(0)
  } catch (e) {
    const code = errorCode(e) ?? (e as { code?: string }).code ?? 'ERROR'
    const message = e instanceof Error ? e.message : String(e)
    // after an alarm, the run's own error is mostly a deadline it ran into because of what the
    // alarm caught: the last line names the alarm first (and the run's error after it)
    out.emit(
      alarm
        ? {
            event: 'error',
            code: alarm.code,
            message: `alarm ${alarm.code} on the link to ${alarm.peer.slice(0, 16)}…: a direct link's handshake caught the signaling server tampering, and it is presumed hostile (then ${code}: ${message})`,
          }
        : { event: 'error', code, message },
    )
    return await stop(1)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `--serve`: follow every proposal of the protocol that names this party, one after another,
 * until SIGINT/SIGTERM (the demo's headless parties).
 */
async function serve(
  args: RunArgs,
  party: import('@conclave/core').Party,
  out: Output,
  protocol: ProtocolRun,
  roster: Roster | undefined,
  finished: FinishedSessions,
): Promise<number> {
  const abort = new AbortController()
  const onSignal = (): void => abort.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const stopped = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve()))
  while (!abort.signal.aborted) {
    const run = runCoordinated(party, {
      protocol: args.protocol!,
      ...(protocol.params ? { params: protocol.params } : {}),
      parties: args.parties ?? 0,
      ...(roster ? { roster: roster.parties } : {}),
      finished,
      follow: true,
      roundTimeoutMs: args.roundTimeoutMs,
      deadline: Number.MAX_SAFE_INTEGER,
      maxAttempts: 1,
      signal: abort.signal,
      run: (session: Session) => protocol.run(session),
      progress: (step) => out.emit(step),
    })
    const outcome = await Promise.race([
      run.then(
        (result) => ({ result }),
        (e: unknown) => ({ e }),
      ),
      stopped.then(() => undefined),
    ])
    if (!outcome) break
    if ('result' in outcome) out.emit({ event: 'result', protocol: args.protocol!, ...outcome.result })
    else
      out.emit({
        event: 'error',
        code: errorCode(outcome.e) ?? 'ERROR',
        message: outcome.e instanceof Error ? outcome.e.message : String(outcome.e),
      })
  }
  return 0
}

/** Run the CLI; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json')
  const out = (): Output => createOutput(json)
  try {
    const args = parseCommandLine(argv)
    if (args.command === 'help') {
      process.stdout.write(`${HELP}\n`)
      return 0
    }
    if (args.command === 'keygen') {
      const id = await writeNewIdentity(createNodeCrypto(), args.out, args.label, args.force)
      out().emit({ event: 'keygen', partyId: id.id, file: args.out })
      return 0
    }
    json = args.json
    return await run(args, out())
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`conclave-party: ${e.message}\n(see conclave-party --help)\n`)
      return 2
    }
    const code = e instanceof ConclaveError ? e.code : ((e as { code?: string }).code ?? 'ERROR')
    out().emit({ event: 'error', code, message: e instanceof Error ? e.message : String(e) })
    return 1
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.CONCLAVE_PARTY_MAIN === '1') {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
      process.exit(1)
    },
  )
}
