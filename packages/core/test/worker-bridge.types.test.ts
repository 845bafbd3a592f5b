/**
 * The Worker bridge cannot drift from the seams it carries: these cases are checked by the type
 * checker (`tsc -p packages/core` covers `test/`), each `@ts-expect-error` failing the check if the
 * mistake it shows were to compile. At run time they only check that the tables name the seams'
 * methods, no more.
 */
import type { PartyId } from '@conclave/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { SessionHostConfig } from '../src/session/host.ts'
import type { HostSink, SessionHost } from '../src/session/types.ts'
import { HOST_OPS, type HostOpTable, SINK_OPS, type SinkOpTable } from '../src/worker/ops.ts'
import type {
  NotCloneable,
  WorkerConfigOf,
  WorkerConfigReplacements,
  WorkerHostConfig,
} from '../src/worker/types.ts'

/** The host seam with one more method, as a change to `session/types.ts` would make it. */
interface GrownHost extends SessionHost {
  ping(peer: PartyId): Promise<number>
}

/** The sink seam with one more method. */
interface GrownSink extends HostSink {
  log(line: string): void
}

describe('the Worker bridge, typed against its seams', () => {
  it('a host method added to the seam must have an op table entry', () => {
    // @ts-expect-error `ping` has no entry: the bridge would not carry it
    const unwired: HostOpTable<GrownHost> = HOST_OPS
    const wired: HostOpTable<GrownHost> = { ...HOST_OPS, ping: { via: 'call' } }
    // @ts-expect-error a method with a promise cannot be a void call queued for the turn
    const queued: HostOpTable<GrownHost> = { ...HOST_OPS, ping: { via: 'turn' } }
    // @ts-expect-error a method with a synchronous result cannot wait for the Worker
    const called: HostOpTable = { ...HOST_OPS, peers: { via: 'call' } }
    const { linkClosed: _dropped, ...rest } = HOST_OPS
    // @ts-expect-error a void method cannot be left out of the table either
    const missing: HostOpTable = rest
    expect([unwired, wired, queued, called, missing].every((t) => typeof t === 'object')).toBe(true)
  })

  it('a sink method added to the seam must have an op table entry', () => {
    // @ts-expect-error `log` has no entry: the Worker could not report it
    const unwired: SinkOpTable<GrownSink> = SINK_OPS
    const wired: SinkOpTable<GrownSink> = { ...SINK_OPS, log: {} }
    expect([unwired, wired].every((t) => typeof t === 'object')).toBe(true)
  })

  it('the tables name exactly the seams’ methods', () => {
    const hostMethods: (keyof SessionHost)[] = [
      'connect',
      'linkOpened',
      'linkFrame',
      'linkClosed',
      'openSession',
      'resumeOf',
      'propose',
      'proposals',
      'send',
      'broadcast',
      'receive',
      'collect',
      'abort',
      'started',
      'closeSession',
      'peers',
      'counters',
      'stop',
    ]
    expect(Object.keys(HOST_OPS).sort()).toEqual([...hostMethods].sort())
    expect(Object.keys(SINK_OPS).sort()).toEqual(['closeLink', 'event', 'requestLink', 'sendFrame'])
  })

  it('the Worker config is the host config: every field, with its own type, but the replaced ones', () => {
    expectTypeOf<Exclude<keyof SessionHostConfig, keyof WorkerHostConfig>>().toEqualTypeOf<never>()
    expectTypeOf<WorkerHostConfig['grantIssuers']>().toEqualTypeOf<SessionHostConfig['grantIssuers']>()
    expectTypeOf<WorkerHostConfig['requireGrant']>().toEqualTypeOf<SessionHostConfig['requireGrant']>()
    expectTypeOf<WorkerHostConfig['roster']>().toEqualTypeOf<SessionHostConfig['roster']>()
    expectTypeOf<WorkerHostConfig['limits']>().toEqualTypeOf<SessionHostConfig['limits']>()
    // a field that cannot be cloned and that nothing replaces cannot be given any value
    type Grown = SessionHostConfig & { onRefusal: (code: string) => void }
    expectTypeOf<WorkerConfigOf<Grown, WorkerConfigReplacements>['onRefusal']>().toEqualTypeOf<
      NotCloneable<'onRefusal'>
    >()
    // @ts-expect-error a function cannot stand where the Worker config has a field that cannot cross
    const refusal: WorkerConfigOf<Grown, WorkerConfigReplacements>['onRefusal'] = () => undefined
    // replaced, it crosses as its description
    const replaced: WorkerConfigOf<Grown, WorkerConfigReplacements & { onRefusal: 'log' }>['onRefusal'] =
      'log'
    expect([typeof refusal, replaced]).toEqual(['function', 'log'])
  })
})
