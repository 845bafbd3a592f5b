#!/usr/bin/env node
/**
 * The pack-and-install test (issue #18): what a user gets from the registry, installed the way
 * a user installs it, outside this workspace.
 *
 *  1. build the packages (tsc -b);
 *  2. `pnpm pack` core, protocols, signaling-server and node-party into a temp folder;
 *  3. `npm install --omit=dev` the four tarballs into an empty folder under the system's temp
 *     directory (third-party packages from the registry, no workspace links);
 *  4. check that no dev tooling came with them (vitest, tsx, TypeScript, Vite …), that every
 *     `@conclave/*` package is the packed one, and that none of their files imports vitest;
 *     and that `pnpm deploy --prod` of the signaling server (what deploy/Dockerfile copies into
 *     the image) has none either, and starts;
 *  5. start `conclave-signal` from the install's `node_modules/.bin` on a free loopback port;
 *  6. start two `conclave-party` processes from the install (secure-sum, serving 3-party sessions);
 *  7. run the quickstart's plain Node ESM script (examples/quickstart/node) there: it joins the
 *     room and completes a 3-party secure-sum with the two parties;
 *  8. build the quickstart's Vite page (examples/quickstart/web) against the tarballs;
 *  9. serve it from http://localhost and load it in headless Chromium: the page joins the same
 *     room and completes a secure-sum with the two parties (their results prove it).
 *
 * Each step prints PASS or FAIL (and what it saw); the first failure skips the rest. Every
 * process started is killed by its PID (and process group) at the end, even on failure, and the
 * temp folder is removed (kept with CONCLAVE_PACK_KEEP=1). Every wait is bounded; the whole run
 * gives up after CONCLAVE_PACK_TIMEOUT_MS (default 15 min). Chromium: CONCLAVE_CHROMIUM
 * (default /usr/bin/chromium). Exit status 0 when every step passed, 1 otherwise.
 *
 *   node e2e/pack/run.mjs          (or: pnpm test:pack)
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Children, freePort, sleep, until } from './children.mjs'
import { checkDeploy, checkInstall } from './install-check.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PNPM = `pnpm@${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager.split('@')[1]}`
const PACKAGES = ['core', 'protocols', 'signaling-server', 'node-party']
const CHROMIUM = process.env.CONCLAVE_CHROMIUM || '/usr/bin/chromium'
const TOTAL_MS = Number(process.env.CONCLAVE_PACK_TIMEOUT_MS || 15 * 60_000)
const KEEP = process.env.CONCLAVE_PACK_KEEP === '1'
/** The CLI parties' numbers, the Node script's and the page's: each session's total names its third party. */
const INPUTS = { cli: [3, 4], node: 5, page: 1000 }

const say = (text) => console.log(`[pack] ${text}`)

// ---------------------------------------------------------------------------------------------
// the temp folder: outside the workspace, so that nothing resolves to the workspace's packages
const base = `${tmpdir()}/`.startsWith(ROOT) ? '/tmp' : tmpdir()
const TMP = mkdtempSync(join(base, 'conclave-pack-'))
const TARBALLS = join(TMP, 'tarballs')
const APP = join(TMP, 'app')
const WEB = join(TMP, 'web')
const BIN = join(APP, 'node_modules', '.bin')
const room = `pack-${Math.random().toString(36).slice(2, 10)}`

// ---------------------------------------------------------------------------------------------
/** @type {Children | undefined} */
let children
const results = []
const state = {}

/** Run one step: PASS with its time, or FAIL with the error (and every later step skipped). */
async function step(name, fn) {
  if (results.some((r) => r.status === 'FAIL')) {
    results.push({ name, status: 'SKIP' })
    say(`SKIP  ${name}`)
    return
  }
  const t0 = Date.now()
  say(`----  ${name}`)
  try {
    const note = await fn()
    const s = ((Date.now() - t0) / 1000).toFixed(1)
    results.push({ name, status: 'PASS', s })
    say(`PASS  ${name} (${s} s)${note ? `: ${note}` : ''}`)
  } catch (e) {
    const s = ((Date.now() - t0) / 1000).toFixed(1)
    results.push({ name, status: 'FAIL', s })
    say(`FAIL  ${name} (${s} s): ${e instanceof Error ? e.message : String(e)}`)
  }
}

const pnpm = (name, args, cwd, ms) => children.run(name, 'npx', ['--yes', PNPM, ...args], { cwd }, ms)
const npm = (name, args, cwd, ms) =>
  children.run(name, 'npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd }, ms)

/** The tarball of `pkg` (`conclave-core-0.1.0.tgz` …). */
function tarball(pkg) {
  const file = readdirSync(TARBALLS).find((f) => f.startsWith(`conclave-${pkg}-`) && f.endsWith('.tgz'))
  if (!file) throw new Error(`no tarball of @conclave/${pkg} in ${TARBALLS}`)
  return join(TARBALLS, file)
}

/** A running `conclave-party … --json` of the install: wait for its lines with `waitFor` / `take`. */
function startParty(name, key, input) {
  return children.node(
    name,
    join(BIN, 'conclave-party'),
    [
      'run',
      ...['--signal', state.signal, '--room', room, '--key', key],
      ...['--protocol', 'secure-sum', '--serve', '--parties', '3', '--input', String(input)],
      ...['--state', `${key}.state`, '--json'],
    ],
    { cwd: APP, env: { CONCLAVE_ICE_SERVERS: '' } },
  )
}

/** Both CLI parties report a secure-sum `total` proposed by `proposer`. */
async function cliResults(proposer, total, ms) {
  for (const p of state.parties) {
    const joined = await p.take(
      (l) => l.event === 'joined' && l.proposer === proposer,
      ms,
      `'joined' of a proposal by ${proposer.slice(0, 16)}…`,
    )
    const result = await p.take(
      (l) => l.event === 'result' || l.event === 'error',
      ms,
      `result of ${joined.sessionId}`,
    )
    if (result.event !== 'result' || result.total !== String(total)) {
      throw new Error(
        `${p.name}: expected total ${total} of ${proposer.slice(0, 16)}…'s session, got ${JSON.stringify(result)}`,
      )
    }
  }
}

// ---------------------------------------------------------------------------------------------
async function main() {
  say(`temp folder ${TMP}, room ${room}`)

  await step('build the packages (tsc -b)', async () => {
    const proc = await import('node:child_process')
    // the child driver is the workspace's build, so this one step runs without it
    const r = proc.spawnSync('npx', ['--yes', PNPM, '-s', 'build'], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 600_000,
    })
    if (r.status !== 0) throw new Error(`pnpm build ended with ${r.status ?? r.signal ?? r.error}`)
    children = new Children(await import('@conclave/node-party/testing'))
  })

  await step(`pnpm pack ${PACKAGES.join(', ')}`, async () => {
    mkdirSync(TARBALLS)
    for (const pkg of PACKAGES) {
      await pnpm(
        `pack ${pkg}`,
        ['pack', '--pack-destination', TARBALLS],
        join(ROOT, 'packages', pkg),
        120_000,
      )
    }
    return PACKAGES.map((p) => relative(TARBALLS, tarball(p))).join(', ')
  })

  await step('npm install --omit=dev the tarballs into an empty folder', async () => {
    mkdirSync(APP)
    writeFileSync(
      join(APP, 'package.json'),
      `${JSON.stringify({ name: 'conclave-pack-app', private: true, type: 'module' }, null, 2)}\n`,
    )
    await npm('npm install (app)', ['install', '--omit=dev', ...PACKAGES.map(tarball)], APP, 600_000)
  })

  await step('the install has no dev tooling, only the packed @conclave/* packages', async () =>
    checkInstall(APP, PACKAGES),
  )

  await step(
    "pnpm deploy --prod of the signaling server (the image's content) has no dev tooling",
    async () => {
      const out = join(TMP, 'server-deploy')
      await pnpm(
        'pnpm deploy',
        ['--filter', '@conclave/signaling-server', 'deploy', '--prod', out],
        ROOT,
        300_000,
      )
      const note = checkDeploy(out)
      const server = children.node(
        'deployed conclave-signal',
        join(out, 'bin', 'conclave-signal.js'),
        ['--port', '0', '--log-level', 'warn'],
        { cwd: out },
      )
      await server.waitFor((l) => l.event === 'listening', 30_000, "'listening' line")
      await server.terminate(3000)
      return `${note}; its conclave-signal starts`
    },
  )

  await step('conclave-signal from node_modules/.bin listens on loopback', async () => {
    const server = children.node(
      'conclave-signal',
      join(BIN, 'conclave-signal'),
      ['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'],
      {
        cwd: APP,
      },
    )
    const line = await server.waitFor((l) => l.event === 'listening', 30_000, "'listening' line")
    state.signal = String(line.url)
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(state.signal)) throw new Error(`unexpected URL ${state.signal}`)
    return state.signal
  })

  await step('two conclave-party processes from the install join the room and link', async () => {
    const keys = join(TMP, 'keys')
    mkdirSync(keys)
    state.parties = []
    for (const [i, input] of INPUTS.cli.entries()) {
      const key = join(keys, `party${i + 1}.key`)
      await children.run(
        `keygen ${i + 1}`,
        process.execPath,
        [join(BIN, 'conclave-party'), 'keygen', '--out', key],
        { cwd: APP },
        30_000,
      )
      state.parties.push(startParty(`conclave-party ${i + 1}`, key, input))
    }
    const ids = []
    for (const p of state.parties)
      ids.push(String((await p.waitFor((l) => l.event === 'ready', 30_000, "'ready'")).partyId))
    const [a, b] = state.parties
    await a.waitFor(
      (l) => l.event === 'peer' && l.peer === ids[1] && l.state === 'ready',
      60_000,
      'a ready link to party 2',
    )
    await b.waitFor(
      (l) => l.event === 'peer' && l.peer === ids[0] && l.state === 'ready',
      60_000,
      'a ready link to party 1',
    )
    return ids.map((id) => `${id.slice(0, 12)}…`).join(', ')
  })

  await step('the quickstart Node script (plain .mjs) completes a 3-party secure-sum with them', async () => {
    const dir = join(ROOT, 'examples', 'quickstart', 'node')
    for (const f of readdirSync(dir)) if (f.endsWith('.mjs')) cpSync(join(dir, f), join(APP, f))
    const env = {
      CONCLAVE_SIGNAL: state.signal,
      CONCLAVE_ROOM: room,
      CONCLAVE_INPUT: String(INPUTS.node),
      CONCLAVE_PARTIES: '3',
    }
    const lines = await children.run(
      'secure-sum.mjs',
      process.execPath,
      ['secure-sum.mjs'],
      { cwd: APP, env },
      120_000,
    )
    const expected = INPUTS.cli[0] + INPUTS.cli[1] + INPUTS.node
    const id = lines.map((l) => /^party ([0-9a-f]{64}) /.exec(l)?.[1]).find(Boolean)
    const total = lines.map((l) => /^secure-sum total: (-?\d+)$/.exec(l)?.[1]).find(Boolean)
    if (!id || total !== String(expected)) {
      throw new Error(
        `expected "party <id> …" and "secure-sum total: ${expected}", got: ${lines.join(' | ')}`,
      )
    }
    await cliResults(id, expected, 30_000)
    return `total ${total} in the script and in both CLI parties`
  })

  await step('the quickstart Vite page builds from the installed packages', async () => {
    const dir = join(ROOT, 'examples', 'quickstart', 'web')
    mkdirSync(WEB)
    for (const f of readdirSync(dir))
      if (f !== 'node_modules' && f !== 'dist') cpSync(join(dir, f), join(WEB, f), { recursive: true })
    // the page names the packages by version, as a user's would: point them at the tarballs
    const manifest = JSON.parse(readFileSync(join(WEB, 'package.json'), 'utf8'))
    for (const deps of [manifest.dependencies, manifest.devDependencies]) {
      for (const name of Object.keys(deps ?? {})) {
        if (name.startsWith('@conclave/')) deps[name] = `file:${tarball(name.slice('@conclave/'.length))}`
      }
    }
    writeFileSync(join(WEB, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    await npm('npm install (web)', ['install'], WEB, 600_000)
    await children.run(
      'vite build',
      process.execPath,
      [join(WEB, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'],
      { cwd: WEB },
      180_000,
    )
    if (!existsSync(join(WEB, 'dist', 'index.html'))) throw new Error('vite build wrote no dist/index.html')
  })

  await step(
    'the page, served from http://localhost, joins the room in Chromium and completes a secure-sum',
    async () => {
      if (!existsSync(CHROMIUM))
        throw new Error(`no Chromium at ${CHROMIUM} (set CONCLAVE_CHROMIUM, or apt-get install chromium)`)
      const port = await freePort()
      const vite = join(WEB, 'node_modules', 'vite', 'bin', 'vite.js')
      children.node(
        'vite preview',
        vite,
        ['preview', '--host', 'localhost', '--port', String(port), '--strictPort'],
        { cwd: WEB },
      )
      const origin = `http://localhost:${port}`
      await until(
        () =>
          fetch(`${origin}/`).then(
            (r) => r.ok,
            () => false,
          ),
        30_000,
        `${origin}/ to answer`,
      )
      const page = []
      const url = `${origin}/?${new URLSearchParams({ signal: state.signal, room, input: String(INPUTS.page), parties: '3' })}`
      children.start(
        'chromium',
        CHROMIUM,
        [
          ...['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
          ...['--disable-background-networking', '--disable-component-update', '--disable-sync'],
          '--disable-features=WebRtcHideLocalIpsWithMdns',
          `--user-data-dir=${join(TMP, 'chromium')}`,
          ...['--enable-logging=stderr', '--v=0'],
          url,
        ],
        {
          onStderrLine: (line) => {
            // console messages: [pid:tid:time:INFO:CONSOLE:line] "text", source: url (line)
            const m = /:CONSOLE[^\]]*\] "(.*)", source: /.exec(line)
            if (!m) return
            page.push(m[1])
            say(`  page: ${m[1]}`)
          },
        },
      )
      const id = await until(
        () => page.map((l) => /^party ([0-9a-f]{64}) /.exec(l)?.[1]).find(Boolean),
        60_000,
        "the page's party id",
      )
      const expected = INPUTS.cli[0] + INPUTS.cli[1] + INPUTS.page
      await until(() => page.some((l) => l.startsWith('secure-sum ')), 90_000, "the page's secure-sum result")
      if (!page.includes(`secure-sum total: ${expected}`))
        throw new Error(`expected "secure-sum total: ${expected}" on the page, got: ${page.join(' | ')}`)
      await cliResults(id, expected, 30_000)
      return `party ${id.slice(0, 12)}… got total ${expected}, as did both CLI parties`
    },
  )
}

// ---------------------------------------------------------------------------------------------
let finished = false
async function cleanup() {
  if (children) await children.stopAll()
  if (KEEP) say(`kept ${TMP}`)
  else rmSync(TMP, { recursive: true, force: true })
}

const deadline = setTimeout(async () => {
  if (finished) return
  say(`FAIL  the whole run took longer than ${TOTAL_MS} ms`)
  await cleanup()
  process.exit(1)
}, TOTAL_MS)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    say(`stopped by ${signal}`)
    await cleanup()
    process.exit(1)
  })
}

const t0 = Date.now()
try {
  await main()
} catch (e) {
  results.push({ name: 'harness', status: 'FAIL' })
  say(`FAIL  harness error: ${e instanceof Error ? e.stack : String(e)}`)
} finally {
  finished = true
  clearTimeout(deadline)
  await cleanup()
}
const passed = results.filter((r) => r.status === 'PASS').length
const ok = passed === results.length && results.length > 0
say(
  `${ok ? 'PASS' : 'FAIL'}: ${passed} of ${results.length} steps passed in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
)
await sleep(0)
process.exit(ok ? 0 : 1)
