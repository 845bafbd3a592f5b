/**
 * Node's path hints (DESIGN "Connections"): the machine's addresses, polled with
 * `os.networkInterfaces()` (Node has no event for a network change); each time the set changes,
 * a `network` hint carrying the new set, and the addresses new in it, goes to the transport.
 * libuv lists only interfaces that are up and running, so an interface taken down, or one that
 * lost its carrier, drops out of the set. A link whose local address went away is replaced as
 * soon as another address comes (the machine moved to another network); a peer waiting out a
 * backoff is dialled as soon as any address comes (back).
 * @module
 */
import os from 'node:os'
import { ConclaveError } from '../errors.ts'
import { normalizeAddress } from '../transport/path-watch.ts'
import type { PathHintSource } from './path-hints.ts'

/** How often the machine's addresses are read (ms). */
export const NETWORK_POLL_MS = 1000

/** The machine's addresses now (every interface that is up and running, loopback included). */
export function machineAddresses(): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) out.add(normalizeAddress(a.address))
  }
  return out
}

/**
 * Check the `networkPollMs` option.
 * @throws ConclaveError `INVALID_ARGUMENT` unless it is `false` or an integer from 100 to 2³¹ − 1
 */
export function checkNetworkPollMs(value: unknown): void {
  if (value === undefined || value === false) return
  if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 0x7fffffff) return
  throw new ConclaveError(
    'INVALID_ARGUMENT',
    `"networkPollMs" expected false or an integer from 100 to 2147483647, got ${String(value)}`,
  )
}

/**
 * A source of `network` hints: the machine's addresses read every `pollMs`, a hint on each
 * change. The timer does not keep Node alive.
 */
export function watchNodeNetwork(
  pollMs: number = NETWORK_POLL_MS,
  read: () => Set<string> = machineAddresses,
): PathHintSource {
  // the interfaces could not be read this time: undefined, and the next tick tries again
  const safeRead = (): Set<string> | undefined => {
    try {
      return read()
    } catch {
      return undefined
    }
  }
  return (hint) => {
    let last = safeRead() ?? new Set<string>()
    const timer = setInterval(() => {
      const now = safeRead()
      if (!now) return
      const added = new Set([...now].filter((a) => !last.has(a)))
      if (added.size === 0 && now.size === last.size) return
      last = now
      hint({ reason: 'network', addresses: now, added })
    }, pollMs)
    ;(timer as { unref?: () => void }).unref?.()
    return () => clearInterval(timer)
  }
}
