/**
 * Preloaded (`node --expose-gc --require …`) into the processes the soak measures: the
 * signaling server and the serving parties. `--require` runs in every thread, so it also runs
 * inside the session host's Worker. On SIGUSR2 the main thread reads its command file
 * (`<dir>/<name>.cmd`: `stats <n>` or `snapshot <n>`) and has every thread of the process
 * (over a BroadcastChannel) carry it out:
 * - `stats`: a full garbage collection, then the thread's live heap (`used_heap_size`) and
 *   external memory, in `<name>-<n>-t<threadId>.stats.json`;
 * - `snapshot`: a heap snapshot, `<name>-<n>-t<threadId>.heapsnapshot`.
 * Each file is written under a temporary name and renamed, so a reader never sees half of it.
 *
 * `CONCLAVE_SOAK_HEAP_DIR` names the directory, `CONCLAVE_SOAK_NAME` the process. Nothing
 * happens without them.
 */
'use strict'
const { getHeapStatistics, writeHeapSnapshot } = require('node:v8')
const { readFileSync, renameSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')
const { BroadcastChannel, isMainThread, threadId } = require('node:worker_threads')

const dir = process.env.CONCLAVE_SOAK_HEAP_DIR
const name = process.env.CONCLAVE_SOAK_NAME
if (dir && name) {
  const file = (n, ext) => join(dir, `${name}-${n}-t${threadId}.${ext}`)
  const run = ({ cmd, n }) => {
    if (cmd === 'snapshot') {
      const out = file(n, 'heapsnapshot')
      writeHeapSnapshot(`${out}.part`)
      renameSync(`${out}.part`, out)
    } else if (cmd === 'stats') {
      if (typeof globalThis.gc === 'function') globalThis.gc()
      const h = getHeapStatistics()
      const out = file(n, 'stats.json')
      const stats = {
        heap_used: h.used_heap_size,
        external: h.external_memory ?? 0,
        gc: typeof globalThis.gc === 'function',
      }
      writeFileSync(`${out}.part`, JSON.stringify(stats))
      renameSync(`${out}.part`, out)
    }
  }
  const channel = new BroadcastChannel('conclave-soak-heap')
  channel.unref()
  if (isMainThread) {
    process.on('SIGUSR2', () => {
      const [cmd, n] = readFileSync(join(dir, `${name}.cmd`), 'utf8')
        .trim()
        .split(' ')
      const message = { cmd, n: Number(n) }
      channel.postMessage(message)
      run(message)
    })
  } else {
    channel.onmessage = (event) => run(event.data)
  }
}
