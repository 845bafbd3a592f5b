/**
 * Reading V8 heap snapshots (`.heapsnapshot`, the JSON DevTools reads): live objects counted by
 * constructor, as the DevTools "Summary" groups them, and the difference between two snapshots.
 * @module
 */
import { readFileSync } from 'node:fs'

/** Objects of one constructor in a snapshot: how many, and their own bytes. */
export interface ConstructorCount {
  count: number
  bytes: number
}

/** A snapshot summed up: every constructor's count and bytes, and the heap's total bytes. */
export interface HeapSummary {
  totalBytes: number
  nodes: number
  byConstructor: Map<string, ConstructorCount>
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** DevTools' group of a node: objects and natives by constructor name, the rest by type. */
function groupOf(type: string, name: string): string {
  switch (type) {
    case 'object':
    case 'native':
      return name
    case 'closure':
      return '(closure)'
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)'
    case 'array':
      return '(array)'
    case 'code':
      return '(compiled code)'
    case 'hidden':
      return '(system)'
    default:
      return `(${type})`
  }
}

/** Sum up the snapshot in `file`. */
export function summarize(file: string): HeapSummary {
  const json = JSON.parse(readFileSync(file, 'utf8')) as SnapshotJson
  const fields = json.snapshot.meta.node_fields
  const types = json.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const byConstructor = new Map<string, ConstructorCount>()
  let totalBytes = 0
  const { nodes, strings } = json
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!] ?? 'unknown'
    const group = groupOf(type, strings[nodes[i + nameAt]!] ?? '')
    const size = nodes[i + sizeAt]!
    totalBytes += size
    const c = byConstructor.get(group)
    if (c) {
      c.count++
      c.bytes += size
    } else byConstructor.set(group, { count: 1, bytes: size })
  }
  return { totalBytes, nodes: nodes.length / width, byConstructor }
}

/** Add `b` into `a` (the threads of one process). */
export function addSummary(a: HeapSummary, b: HeapSummary): HeapSummary {
  const byConstructor = new Map(a.byConstructor)
  for (const [k, v] of b.byConstructor) {
    const c = byConstructor.get(k)
    byConstructor.set(k, c ? { count: c.count + v.count, bytes: c.bytes + v.bytes } : { ...v })
  }
  return { totalBytes: a.totalBytes + b.totalBytes, nodes: a.nodes + b.nodes, byConstructor }
}

/** One constructor's change between two snapshots. */
export interface ConstructorDelta {
  name: string
  before: number
  after: number
  countDelta: number
  bytesDelta: number
}

/** The constructors whose count grew most from `before` to `after` (at most `top`). */
export function diffSummaries(before: HeapSummary, after: HeapSummary, top: number): ConstructorDelta[] {
  const names = new Set([...before.byConstructor.keys(), ...after.byConstructor.keys()])
  const out: ConstructorDelta[] = []
  for (const name of names) {
    const b = before.byConstructor.get(name) ?? { count: 0, bytes: 0 }
    const a = after.byConstructor.get(name) ?? { count: 0, bytes: 0 }
    out.push({
      name,
      before: b.count,
      after: a.count,
      countDelta: a.count - b.count,
      bytesDelta: a.bytes - b.bytes,
    })
  }
  return out.sort((x, y) => y.countDelta - x.countDelta || y.bytesDelta - x.bytesDelta).slice(0, top)
}
