#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (the workspace runs from source).
import { register } from 'tsx/esm/api'

register()
process.env.CONCLAVE_PARTY_MAIN = '1'
await import('../src/cli.ts')
