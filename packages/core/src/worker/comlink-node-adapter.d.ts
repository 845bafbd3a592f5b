/**
 * Types of comlink's Node adapter at the path Node resolves (`dist/esm/node-adapter.mjs`): comlink
 * 4.4 ships its declaration beside it as `node-adapter.d.ts`, which TypeScript does not pair with
 * an `.mjs` file.
 */
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink'

  /** What comlink needs of a worker_threads Worker or MessagePort. */
  export interface NodeEndpoint {
    postMessage(message: unknown, transfer?: readonly unknown[]): void
    // biome-ignore lint/suspicious/noExplicitAny: comlink passes the listener through as it is
    on(type: string, listener: (...args: any[]) => void): void
    // biome-ignore lint/suspicious/noExplicitAny: comlink passes the listener through as it is
    off(type: string, listener: (...args: any[]) => void): void
    start?: () => void
  }

  /** A comlink Endpoint over a worker_threads Worker or `parentPort`. */
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint
}
