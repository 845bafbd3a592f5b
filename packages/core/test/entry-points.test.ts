/**
 * The package's entries (issue #18): a small root for applications, subpaths with one job each,
 * and `/node` the root for Node. The names are read the way a user sees them: the values by
 * importing each entry, values and types together through the TypeScript compiler API on the
 * entries' sources (`exports` → `@conclave/source`), so a type-only export counts too.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/** At most this many names (values and types) in `@conclave/core`: what an application uses. */
const ROOT_CAP = 80
/** At most this many names of `@conclave/core/node` beyond the root's: what only Node has. */
const NODE_EXTRA_CAP = 15

const coreDir = join(dirname(fileURLToPath(import.meta.url)), '..')

type ExportTarget = string | { [condition: string]: ExportTarget }
const manifest = JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')) as {
  exports: Record<string, ExportTarget>
}

/**
 * The entries whose names are counted: every subpath of `exports` but the Worker's script
 * (`./worker` starts a session host when imported and exports nothing) and the manifest.
 */
const ENTRIES = Object.keys(manifest.exports).filter((k) => k !== './package.json' && k !== './worker')

/** The import specifier of an entry: `@conclave/core`, `@conclave/core/wire` … */
function specifier(entry: string): string {
  return entry === '.' ? '@conclave/core' : `@conclave/core/${entry.slice(2)}`
}

/** The source file an entry's `@conclave/source` condition names (relative to packages/core). */
function sourceOf(entry: string): string {
  const target = manifest.exports[entry]
  if (typeof target !== 'object' || typeof target['@conclave/source'] !== 'string') {
    throw new Error(`exports["${entry}"] has no "@conclave/source" path`)
  }
  return target['@conclave/source']
}

interface EntryNames {
  /** Every exported name, values and types. */
  all: Set<string>
  /** The names that exist at run time. */
  values: Set<string>
  /** Exported names whose declaration carries no TSDoc summary. */
  undocumented: string[]
  /** The entry file's own leading comment. */
  header: string
}

/** One TypeScript program over every entry, read once. */
const names: Map<string, EntryNames> = (() => {
  const files = ENTRIES.map((e) => join(coreDir, sourceOf(e)))
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true,
    customConditions: ['@conclave/source'],
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  })
  const checker = program.getTypeChecker()
  const out = new Map<string, EntryNames>()
  ENTRIES.forEach((entry, i) => {
    const file = program.getSourceFile(files[i] as string)
    const module = file && checker.getSymbolAtLocation(file)
    if (!file || !module) throw new Error(`${specifier(entry)}: no module at ${files[i]}`)
    const all = new Set<string>()
    const values = new Set<string>()
    const undocumented: string[] = []
    for (const symbol of checker.getExportsOfModule(module)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      all.add(symbol.name)
      if (target.flags & ts.SymbolFlags.Value) values.add(symbol.name)
      if (ts.displayPartsToString(target.getDocumentationComment(checker)).trim() === '') {
        undocumented.push(symbol.name)
      }
    }
    const first = ts.getLeadingCommentRanges(file.text, 0)?.[0]
    const header = first ? file.text.slice(first.pos, first.end) : ''
    out.set(entry, { all, values, undocumented, header })
  })
  return out
})()

function namesOf(entry: string): EntryNames {
  const n = names.get(entry)
  if (!n) throw new Error(`no entry ${entry}`)
  return n
}

describe('entry points of @conclave/core', () => {
  it(`the root holds at most ${ROOT_CAP} names, values and types together`, () => {
    const root = namesOf('.')
    expect(root.all.size, [...root.all].sort().join(' ')).toBeLessThanOrEqual(ROOT_CAP)
    // the front door is there
    for (const name of [
      'joinRoom',
      'createRoomParty',
      'createPlatformCrypto',
      'ConclaveError',
      'RoomOptions',
    ]) {
      expect(root.all.has(name), name).toBe(true)
    }
  })

  it("/node is the root for Node: every root name, and few of Node's own", () => {
    const root = namesOf('.')
    const node = namesOf('./node')
    expect([...root.all].filter((n) => !node.all.has(n))).toEqual([])
    const extra = [...node.all].filter((n) => !root.all.has(n))
    expect(extra.length, extra.join(' ')).toBeLessThanOrEqual(NODE_EXTRA_CAP)
  })

  it('every name has one home: no two entries but the root and /node share one', () => {
    const root = namesOf('.')
    const home = new Map<string, string>()
    const shared: string[] = []
    for (const entry of ENTRIES) {
      for (const name of namesOf(entry).all) {
        // /node re-exports the root's names; those are the root's
        if (entry === './node' && root.all.has(name)) continue
        const other = home.get(name)
        if (other !== undefined) shared.push(`${name}: ${specifier(other)} and ${specifier(entry)}`)
        else home.set(name, entry)
      }
    }
    expect(shared).toEqual([])
  })

  it('each entry exports at run time exactly its value names', async () => {
    for (const entry of ENTRIES) {
      const mod = (await import(/* @vite-ignore */ specifier(entry))) as Record<string, unknown>
      expect(Object.keys(mod).sort(), specifier(entry)).toEqual([...namesOf(entry).values].sort())
    }
  })

  it('every export of every entry has TSDoc, and every entry a package overview naming it', () => {
    for (const entry of ENTRIES) {
      const n = namesOf(entry)
      expect(n.undocumented, specifier(entry)).toEqual([])
      expect(n.header, specifier(entry)).toContain('@packageDocumentation')
      expect(n.header, specifier(entry)).toMatch(new RegExp(`@module ${specifier(entry)}\\s`))
    }
  })

  it('each entry resolves to its source first, then to dist/ for types and JavaScript', () => {
    for (const entry of ENTRIES) {
      const target = manifest.exports[entry] as Record<string, ExportTarget>
      const conditions = Object.keys(target)
      expect(conditions[0], specifier(entry)).toBe('@conclave/source')
      const base = sourceOf(entry)
        .replace(/^\.\/src\//, './dist/')
        .replace(/\.ts$/, '')
      expect(target.types, specifier(entry)).toBe(`${base}.d.ts`)
      // the root and the subpaths load anywhere; /node only under the `node` condition
      const js = entry === './node' ? [target.node] : [target.import, target.default]
      for (const path of js) expect(path, specifier(entry)).toBe(`${base}.js`)
    }
    // and no entry file is left out of `exports`
    const listed = ENTRIES.map(sourceOf)
    for (const file of readdirSync(join(coreDir, 'src/entries'))) {
      expect(listed, file).toContain(`./src/entries/${file}`)
    }
  })
})
