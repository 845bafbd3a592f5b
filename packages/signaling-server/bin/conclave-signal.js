#!/usr/bin/env node
// The `conclave-signal` command: the built CLI (`pnpm build` writes dist/; no tsx at run time).
await import('../dist/cli.js')
