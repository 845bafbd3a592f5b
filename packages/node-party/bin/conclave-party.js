#!/usr/bin/env node
// The `conclave-party` command: the built CLI (`pnpm build` writes dist/; no tsx at run time).
// dist/cli.js runs `main` when imported with CONCLAVE_PARTY_MAIN=1 (it also exports it).
process.env.CONCLAVE_PARTY_MAIN = '1'
await import('../dist/cli.js')
