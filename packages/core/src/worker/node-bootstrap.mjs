/**
 * First module of a session host Worker started from the TypeScript sources. Node 20 Workers do
 * not inherit the main thread's loader hooks, and `execArgv: ['--import', 'tsx']` is not applied
 * to a Worker's entry, so this registers tsx's ESM hooks in the Worker (tsx's documented
 * `tsx/esm/api`) before loading the TypeScript entry.
 */
import { register } from 'tsx/esm/api'

register()
await import('./node-entry.ts')
