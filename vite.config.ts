/**
 * Root Vite/Vitest configuration.
 *
 * - `vite` (dev server): serves the web demo from packages/web-demo.
 * - `vitest`: unit and integration tests of every package. Files are named by environment:
 *   `*.test.ts` runs everywhere, `*.node.test.ts` only in Node, `*.browser.test.ts` only in a
 *   browser (run by the e2e suite), so Node's run excludes the latter.
 *
 * Both resolve `@conclave/*` to their TypeScript sources (`sourceConditions`): no build first.
 */
import { defaultClientConditions, defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

/**
 * The export condition that points every `@conclave/*` package at its `src/*.ts` (listed first in
 * each package's `exports`; tsconfig.base.json's `customConditions` names it too). Vite's own
 * conditions follow: setting `resolve.conditions` replaces them.
 */
export const SOURCE_CONDITION = '@conclave/source'

/** `resolve` options (browser, Worker) and `ssr.resolve` ones (Node, vitest) with the source condition. */
export const sourceConditions = {
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
}

export default defineConfig({
  root: 'packages/web-demo',
  ...sourceConditions,
  // the session host Worker is an ES module (`new Worker(url, { type: 'module' })`)
  worker: { format: 'es' },
  build: { target: 'es2022' },
  test: {
    root: '.',
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.browser.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
})
