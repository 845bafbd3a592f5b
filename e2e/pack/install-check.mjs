/**
 * What a production install of the packed packages must look like: no dev tooling in it, none
 * named by their manifests (even an optional peer drags vitest in somewhere: issue #18), every
 * `@conclave/*` package the one packed from this workspace (none fetched from a registry, none
 * nested twice), and no file of theirs importing vitest (a stale `dist/testing` would).
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Packages that only development needs: none may be installed by `npm install --omit=dev`. */
export const DEV_TOOLING = [
  'vitest',
  'tsx',
  'typescript',
  'vite',
  'esbuild',
  'rollup',
  'playwright',
  'playwright-core',
  '@playwright/test',
  'fast-check',
  'fake-indexeddb',
  '@biomejs/biome',
  'publint',
  '@arethetypeswrong/cli',
  '@changesets/cli',
  'typedoc',
  '@conclave/testing',
]
const DEV_SCOPES = ['@vitest/']

/** Whether `name` is a development tool. */
function isDevTool(name) {
  return DEV_TOOLING.includes(name) || DEV_SCOPES.some((s) => name.startsWith(s))
}

/** Every installed package under `nodeModules`, nested ones too: `{ name, dir }`. */
export function installedPackages(nodeModules) {
  const out = []
  const visit = (dir) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue
      const path = join(dir, entry)
      if (entry.startsWith('@')) {
        for (const sub of readdirSync(path)) add(`${entry}/${sub}`, join(path, sub))
      } else add(entry, path)
    }
  }
  const add = (name, dir) => {
    if (!statSync(dir).isDirectory()) return
    out.push({ name, dir })
    visit(join(dir, 'node_modules'))
  }
  visit(nodeModules)
  return out
}

/** The `.js`, `.mjs` and `.ts` files (sources and declarations) under `dir`, not in a nested node_modules. */
function jsFiles(dir) {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...jsFiles(path))
    else if (/\.(m?js|ts)$/.test(entry.name)) out.push(path)
  }
  return out
}

/**
 * Check the install in `app` of the `@conclave/*` packages `packed` (short names: `core` …).
 * @returns a one-line summary
 * @throws Error listing every problem found
 */
export function checkInstall(app, packed) {
  const problems = []
  const all = installedPackages(join(app, 'node_modules'))
  const dev = all.filter((p) => isDevTool(p.name))
  for (const p of dev) problems.push(`dev tooling installed: ${p.name} (${p.dir})`)

  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')).packages ?? {}
  for (const [path, entry] of Object.entries(lock)) {
    const m = /(?:^|\/)node_modules\/(@conclave\/[^/]+)$/.exec(path)
    if (!m) continue
    if (path !== `node_modules/${m[1]}`) problems.push(`a nested copy of ${m[1]}: ${path}`)
    else if (!String(entry.resolved ?? '').startsWith('file:')) {
      problems.push(`${m[1]} did not come from a packed tarball: resolved ${entry.resolved ?? '(none)'}`)
    }
  }
  for (const pkg of packed) {
    const dir = join(app, 'node_modules', '@conclave', pkg)
    if (!existsSync(join(dir, 'package.json'))) {
      problems.push(`@conclave/${pkg} is not installed`)
      continue
    }
    // a dev tool named as a dependency of any kind, an optional peer included: some installer
    // or deploy (pnpm's autoInstallPeers resolved core's optional vitest peer) brings it along
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const name of Object.keys(manifest[field] ?? {})) {
        if (isDevTool(name)) {
          problems.push(`@conclave/${pkg} names ${name} in ${field}`)
        }
      }
    }
    for (const file of jsFiles(dir)) {
      if (
        /\bfrom\s*['"]vitest['"]|\bimport\(\s*['"]vitest['"]|require\(\s*['"]vitest['"]/.test(
          readFileSync(file, 'utf8'),
        )
      ) {
        problems.push(`${file.slice(app.length + 1)} imports vitest`)
      }
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '))
  return `${all.length} packages, none of ${DEV_TOOLING.length + DEV_SCOPES.length} dev tools`
}

/** The package name of an entry of pnpm's virtual store (`@vitest+browser@3.2.7_…` → `@vitest/browser`). */
function storeEntryName(entry) {
  const at = entry.indexOf('@', 1)
  return (at > 0 ? entry.slice(0, at) : entry).replace('+', '/')
}

/**
 * Check a `pnpm deploy --prod` of a package (what the server image copies): its files built, and
 * no dev tooling among its packages, whether linked at the top or only in pnpm's store.
 * @returns a one-line summary
 * @throws Error listing the dev tools found
 */
export function checkDeploy(dir) {
  if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`no dist/index.js in ${dir}`)
  const store = join(dir, 'node_modules', '.pnpm')
  const names = new Set(installedPackages(join(dir, 'node_modules')).map((p) => p.name))
  if (existsSync(store)) {
    for (const entry of readdirSync(store)) {
      if (entry !== 'node_modules' && !entry.includes('.yaml') && !entry.startsWith('.'))
        names.add(storeEntryName(entry))
    }
  }
  const dev = [...names].filter(isDevTool).sort()
  if (dev.length > 0) throw new Error(`dev tooling deployed: ${dev.join(', ')}`)
  return `${names.size} packages, no dev tooling`
}
