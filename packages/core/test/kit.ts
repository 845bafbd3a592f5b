/**
 * The compliance suites of `@conclave/testing`, for core's own tests. Imported from the kit's
 * sources by path, not by package name: `@conclave/testing` depends on `@conclave/core`, so a
 * dev dependency back would make a workspace cycle (and a root dev dependency breaks the server
 * image's `pnpm deploy`, which sees only core and the server).
 */
export * from '../../testing/src/index.ts'
