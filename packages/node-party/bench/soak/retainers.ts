/**
 * Diagnosis of a soak's heap growth: `node --import tsx retainers.ts BEFORE AFTER [N]` reads two
 * heap snapshots of one thread (kept with `SOAK_HEAP_DIR`), takes the objects of AFTER that
 * BEFORE did not have (V8 keeps an object's id across the snapshots of one thread), counts them
 * by constructor, and prints, for the N largest groups, the retainer path of a few of them back
 * to a GC root: what keeps the new objects alive.
 * @module
 */
import { readFileSync } from 'node:fs'

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[]
      node_types: [string[], ...unknown[]]
      edge_fields: string[]
      edge_types: [string[], ...unknown[]]
    }
  }
  nodes: number[]
  edges: number[]
  strings: string[]
}

/** A parsed snapshot with the lookups a retainer search needs. */
class Heap {
  readonly nodeWidth: number
  readonly edgeWidth: number
  readonly count: number
  readonly firstEdge: Uint32Array
  /** For each node, the (edge index) of every edge pointing at it. */
  readonly retainers: Map<number, number[]> = new Map()
  readonly edgeFrom: Uint32Array

  constructor(readonly j: Snapshot) {
    const m = j.snapshot.meta
    this.nodeWidth = m.node_fields.length
    this.edgeWidth = m.edge_fields.length
    this.count = j.nodes.length / this.nodeWidth
    this.firstEdge = new Uint32Array(this.count + 1)
    const ec = m.node_fields.indexOf('edge_count')
    for (let i = 0, e = 0; i < this.count; i++) {
      this.firstEdge[i] = e
      e += j.nodes[i * this.nodeWidth + ec]! * this.edgeWidth
      this.firstEdge[i + 1] = e
    }
    this.edgeFrom = new Uint32Array(j.edges.length / this.edgeWidth)
    const to = m.edge_fields.indexOf('to_node')
    for (let i = 0; i < this.count; i++) {
      for (let e = this.firstEdge[i]!; e < this.firstEdge[i + 1]!; e += this.edgeWidth) {
        this.edgeFrom[e / this.edgeWidth] = i
        const target = j.edges[e + to]! / this.nodeWidth
        let list = this.retainers.get(target)
        if (!list) {
          list = []
          this.retainers.set(target, list)
        }
        list.push(e)
      }
    }
  }

  field(i: number, name: string): number {
    return this.j.nodes[i * this.nodeWidth + this.j.snapshot.meta.node_fields.indexOf(name)]!
  }

  type(i: number): string {
    return this.j.snapshot.meta.node_types[0][this.field(i, 'type')] ?? '?'
  }

  name(i: number): string {
    return this.j.strings[this.field(i, 'name')] ?? '?'
  }

  id(i: number): number {
    return this.field(i, 'id')
  }

  edgeType(e: number): string {
    const m = this.j.snapshot.meta
    return m.edge_types[0][this.j.edges[e + m.edge_fields.indexOf('type')]!] ?? '?'
  }

  edgeName(e: number): string {
    const m = this.j.snapshot.meta
    const v = this.j.edges[e + m.edge_fields.indexOf('name_or_index')]!
    const t = this.edgeType(e)
    return t === 'element' || t === 'hidden' ? `[${v}]` : (this.j.strings[v] ?? '?')
  }

  /** A shortest path of strong edges from a root to node `i`, as text (root first). */
  path(i: number, maxDepth = 40): string {
    const prev = new Map<number, number>() // node → edge that reached it (walking up)
    let frontier = [i]
    const seen = new Set([i])
    for (let depth = 0; depth < maxDepth && frontier.length > 0; depth++) {
      const next: number[] = []
      for (const n of frontier) {
        if (n === 0) return this.render(i, prev)
        for (const e of this.retainers.get(n) ?? []) {
          if (this.edgeType(e) === 'weak') continue
          const from = this.edgeFrom[e / this.edgeWidth]!
          if (seen.has(from)) continue
          seen.add(from)
          prev.set(from, e)
          next.push(from)
        }
      }
      frontier = next
    }
    return '(no root path)'
  }

  private render(i: number, prev: Map<number, number>): string {
    const parts: string[] = []
    let n = 0
    const to = this.j.snapshot.meta.edge_fields.indexOf('to_node')
    while (n !== i) {
      const e = prev.get(n)
      if (e === undefined) break
      parts.push(`${this.type(n) === 'object' ? this.name(n) : `(${this.type(n)})`} .${this.edgeName(e)}`)
      n = this.j.edges[e + to]! / this.nodeWidth
    }
    parts.push(`${this.name(i).slice(0, 60)}`)
    return parts.slice(-14).join(' → ')
  }
}

function main(): void {
  const [beforeFile, afterFile, topArg] = process.argv.slice(2)
  if (!beforeFile || !afterFile)
    throw new Error('usage: retainers.ts BEFORE.heapsnapshot AFTER.heapsnapshot [N]')
  const top = Number(topArg ?? 8)
  const before = JSON.parse(readFileSync(beforeFile, 'utf8')) as Snapshot
  const m = before.snapshot.meta
  const ids = new Set<number>()
  for (let i = m.node_fields.indexOf('id'); i < before.nodes.length; i += m.node_fields.length)
    ids.add(before.nodes[i]!)
  const heap = new Heap(JSON.parse(readFileSync(afterFile, 'utf8')) as Snapshot)
  const groups = new Map<string, number[]>()
  for (let i = 0; i < heap.count; i++) {
    if (ids.has(heap.id(i))) continue
    const t = heap.type(i)
    const key = t === 'object' || t === 'native' ? heap.name(i) : `(${t})`
    let g = groups.get(key)
    if (!g) {
      g = []
      groups.set(key, g)
    }
    g.push(i)
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length)
  for (const [key, list] of sorted.slice(0, top)) {
    const bytes = list.reduce((a, i) => a + heap.field(i, 'self_size'), 0)
    console.log(`\n== ${key}: ${list.length} new (${bytes} bytes)`)
    for (const i of [list[0]!, list[Math.floor(list.length / 2)]!, list[list.length - 1]!])
      console.log(`   ${heap.path(i)}`)
  }
}

main()
