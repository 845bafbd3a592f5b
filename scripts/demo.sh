#!/usr/bin/env bash
# Starts the Conclave demo on a fresh machine: installs what is needed, then runs the
# signaling server, the demo page and two headless parties, and prints the URL to open.
# Ctrl-C stops everything it started.
#
# Environment: SIGNAL_PORT (8787), WEB_PORT (5173), ROOM (demo)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
install_deps
build_packages

SIGNAL_PORT="${SIGNAL_PORT:-8787}"
WEB_PORT="${WEB_PORT:-5173}"
ROOM="${ROOM:-demo}"
SIGNAL_URL="http://127.0.0.1:${SIGNAL_PORT}"
STATE="$ROOT/.tmp/demo"
mkdir -p "$STATE"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

log "signaling server on ${SIGNAL_URL}"
node packages/signaling-server/bin/conclave-signal.js --host 127.0.0.1 --port "$SIGNAL_PORT" \
  >"$STATE/signal.out" 2>"$STATE/signal.log" &
pids+=($!)

log "demo page on http://localhost:${WEB_PORT}"
pnpm exec vite --host localhost --port "$WEB_PORT" --strictPort >"$STATE/web.log" 2>&1 &
pids+=($!)

# wait for the server's "listening" line
for _ in $(seq 1 100); do
  grep -q listening "$STATE/signal.out" 2>/dev/null && break
  sleep 0.1
done
grep -q listening "$STATE/signal.out" || { cat "$STATE/signal.log" >&2; echo "signaling server did not start" >&2; exit 1; }

for n in 1 2; do
  key="$STATE/node-party-$n.json"
  [ -f "$key" ] || node packages/node-party/bin/conclave-party.js keygen --out "$key" --label "node-$n" >/dev/null
  input=$((n * 100))
  log "headless party node-$n (secure-sum input ${input})"
  node packages/node-party/bin/conclave-party.js run --signal "$SIGNAL_URL" --room "$ROOM" --key "$key" \
    --protocol secure-sum --input "$input" --serve --round-timeout 120000 >"$STATE/node-$n.log" 2>&1 &
  pids+=($!)
done

cat <<TXT

  Conclave demo is running.

  Open:  http://localhost:${WEB_PORT}/?room=${ROOM}&signal=${SIGNAL_URL}

  Open it in several tabs (or browsers): each tab is a party. Two headless Node parties
  (inputs 100 and 200) are in the room and join every secure-sum a tab starts.
  Logs: ${STATE}/   Stop: Ctrl-C

TXT
wait
