/**
 * Root Vite/Vitest configuration.
 *
 * - `vite` (dev server): serves the web demo from packages/web-demo.
 * - `vitest`: unit and integration tests of every package. Files are named by environment:
 *   `*.test.ts` runs everywhere, `*.node.test.ts` only in Node, `*.browser.test.ts` only in a
 *   browser (run by the e2e suite), so Node's run excludes the latter.
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: 'packages/web-demo',
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
