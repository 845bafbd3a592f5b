#!/usr/bin/env bash
# Runs every test of Conclave on a fresh machine: installs pnpm and the packages, then type
# checks, lints, and runs the unit and integration tests (vitest).
# Usage: ./scripts/test.sh [vitest filters…]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
install_deps

log "type check"
pnpm -s typecheck
log "lint"
pnpm -s lint
log "unit and integration tests"
mkdir -p .tmp
status=0
pnpm -s exec vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
node -e '
  const r = require("./.tmp/vitest.json");
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1) }
' || status=1
exit $status
