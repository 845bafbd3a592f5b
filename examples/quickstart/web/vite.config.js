import { defineConfig } from 'vite'

export default defineConfig({
  // the session host runs in a module Worker; top-level await needs ES2022
  worker: { format: 'es' },
  build: { target: 'es2022' },
  // the dev server only (`vite build` needs neither): keep core out of dependency pre-bundling so
  // that its Worker URL points at its own file; socket.io-client then needs pre-bundling itself
  optimizeDeps: {
    exclude: ['@conclave/core'],
    include: ['@conclave/core > socket.io-client'],
  },
})
