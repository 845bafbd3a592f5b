/**
 * Errors across the Worker boundary. comlink's built-in "throw" handler keeps only an Error's
 * message, name and stack, so a `ConclaveError` would arrive as a plain Error without its code.
 * This handler replaces it on both sides and rebuilds a `ConclaveError` with its name, code,
 * message, details (reduced to plain cloneable data) and cause.
 * @module
 */
import { type TransferHandler, transferHandlers } from 'comlink'
import { ConclaveError, isErrorCode } from '../errors.ts'

/** How deep details and causes are followed; deeper values are dropped. */
const MAX_DEPTH = 8
const MAX_CAUSES = 3
const STRIP: unique symbol = Symbol('strip')

/** An error as it crosses. */
export type WireError =
  | {
      kind: 'conclave'
      code: string
      message: string
      details: Record<string, unknown>
      stack?: string
      cause?: WireError
    }
  | { kind: 'error'; name: string; message: string; code?: string; stack?: string; cause?: WireError }
  | { kind: 'value'; value: unknown }

/** What comlink hands the "throw" handler: the thrown value under its private marker. */
interface Thrown {
  value: unknown
}

/** True for comlink's `{ value, [throwMarker]: 0 }` wrapper (its marker symbol is private). */
function isThrown(value: unknown): value is Thrown {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getOwnPropertySymbols(value).some((s) => s.description === 'Comlink.thrown')
  )
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * `value` reduced to data every structured clone accepts: primitives, plain objects, arrays, Maps,
 * Sets, Dates, ArrayBuffers and typed arrays (copied), Errors as `{ name, message, code? }`.
 * Functions, symbols, class instances (CryptoKeys included), cycles and anything deeper than
 * {@link MAX_DEPTH} are stripped: left out of objects, `undefined` in arrays.
 */
export function toPlainData(value: unknown): unknown {
  const out = plain(value, 0, new WeakSet())
  return out === STRIP ? undefined : out
}

function plain(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return value
    case 'symbol':
    case 'function':
      return STRIP
  }
  if (value === null) return null
  const obj = value as object
  if (depth >= MAX_DEPTH || seen.has(obj)) return STRIP
  seen.add(obj)
  try {
    if (obj instanceof ArrayBuffer) return obj.slice(0)
    if (ArrayBuffer.isView(obj)) {
      return obj instanceof DataView ? new DataView(obj.buffer.slice(0)) : (obj as Uint8Array).slice()
    }
    if (obj instanceof Date) return new Date(obj.getTime())
    if (obj instanceof Error) {
      const code = (obj as { code?: unknown }).code
      return { name: obj.name, message: obj.message, ...(typeof code === 'string' ? { code } : {}) }
    }
    if (Array.isArray(obj)) {
      return obj.map((v) => {
        const p = plain(v, depth + 1, seen)
        return p === STRIP ? undefined : p
      })
    }
    if (obj instanceof Map) {
      const m = new Map<unknown, unknown>()
      for (const [k, v] of obj) {
        const pk = plain(k, depth + 1, seen)
        const pv = plain(v, depth + 1, seen)
        if (pk !== STRIP && pv !== STRIP) m.set(pk, pv)
      }
      return m
    }
    if (obj instanceof Set) {
      const s = new Set<unknown>()
      for (const v of obj) {
        const p = plain(v, depth + 1, seen)
        if (p !== STRIP) s.add(p)
      }
      return s
    }
    if (!isPlainObject(obj)) return STRIP
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(obj)) {
      const p = plain(v, depth + 1, seen)
      if (p !== STRIP) out[k] = p
    }
    return out
  } finally {
    seen.delete(obj)
  }
}

/** Serialize a thrown value. Never throws. */
export function toWireError(value: unknown, causes = 0): WireError {
  const cause =
    value instanceof Error && value.cause !== undefined && causes < MAX_CAUSES
      ? { cause: toWireError(value.cause, causes + 1) }
      : {}
  const stack = value instanceof Error && typeof value.stack === 'string' ? { stack: value.stack } : {}
  if (value instanceof ConclaveError) {
    const details = toPlainData(value.details)
    return {
      kind: 'conclave',
      code: value.code,
      message: value.message,
      details: (details ?? {}) as Record<string, unknown>,
      ...stack,
      ...cause,
    }
  }
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code
    return {
      kind: 'error',
      name: value.name,
      message: value.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...stack,
      ...cause,
    }
  }
  try {
    return { kind: 'value', value: structuredClone(value) }
  } catch {
    return { kind: 'value', value: String(value) }
  }
}

const ERROR_CLASSES: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
}

/** Rebuild a thrown value on this side of the boundary. */
export function fromWireError(wire: WireError): unknown {
  if (wire.kind === 'value') return wire.value
  const options = wire.cause ? { cause: fromWireError(wire.cause) } : undefined
  let error: Error
  if (wire.kind === 'conclave' && isErrorCode(wire.code)) {
    error = new ConclaveError(wire.code, wire.message, wire.details, options)
  } else if (wire.kind === 'conclave') {
    // a code this build does not know (version skew): keep it, without claiming the class
    error = Object.assign(new Error(wire.message, options), {
      name: 'ConclaveError',
      code: wire.code,
      details: wire.details,
    })
  } else {
    const Ctor = ERROR_CLASSES[wire.name] ?? Error
    error = new Ctor(wire.message, options)
    if (error.name !== wire.name) error.name = wire.name
    if (wire.code !== undefined) Object.assign(error, { code: wire.code })
  }
  if (wire.stack !== undefined) error.stack = wire.stack
  return error
}

const throwHandler: TransferHandler<Thrown, WireError> = {
  canHandle: isThrown,
  serialize: ({ value }) => [toWireError(value), []],
  deserialize: (wire) => {
    throw fromWireError(wire)
  },
}

/**
 * Install the error transfer handler as comlink's "throw" handler. Both sides of a boundary must
 * call it (the main-side proxy and `exposeSessionHost` do); calling it again changes nothing.
 *
 * @example
 * ```ts
 * registerErrorTransfer()
 * await remote.send(…) // rejects with a ConclaveError carrying its code and details
 * ```
 */
export function registerErrorTransfer(): void {
  if (transferHandlers.get('throw') === throwHandler) return
  transferHandlers.set('throw', throwHandler as TransferHandler<unknown, unknown>)
}
