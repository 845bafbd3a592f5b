import { defineConfig } from 'vite'

export default defineConfig({
  // the session host runs in a module Worker; top-level await needs ES2022
  worker: { format: 'es' },
  build: { target: 'es2022' },
})
