#!/usr/bin/env bash
# Runs what deploy/compose.yaml runs, without Docker, on 127.0.0.1 only: redis-server, two
# conclave-signal instances on it, nginx in front of them (deploy/nginx.conf) and coturn
# (deploy/turnserver.conf). For trying the production topology on one machine; Ctrl-C stops
# everything it started (by PID).
#
# Usage: deploy/run-local.sh            ports: PROXY_PORT (8787), SIGNAL_PORTS ("8788 8789"),
#                                       REDIS_PORT (6390), TURN_PORT (3478)
# Needs redis-server, turnserver (coturn) and nginx: installed from Debian when missing.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

PROXY_PORT="${PROXY_PORT:-8787}"
read -r S1 S2 <<<"${SIGNAL_PORTS:-8788 8789}"
REDIS_PORT="${REDIS_PORT:-6390}"
TURN_PORT="${TURN_PORT:-3478}"
apt_install redis-server redis-server
apt_install turnserver coturn
apt_install nginx nginx-light
[ -d node_modules ] || install_deps
# conclave-signal runs the built server (dist/), as the image does
[ -f packages/signaling-server/dist/cli.js ] || (log "building the packages" && pnpm run build >&2)

tmp="$(mktemp -d -t conclave-deploy-XXXXXX)"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

redis_password="$(node -p 'require("crypto").randomBytes(16).toString("hex")')"
turn_secret="$(node -p 'require("crypto").randomBytes(16).toString("hex")')"
registry_token="$(node -p 'require("crypto").randomBytes(24).toString("hex")')"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$redis_password" \
  --save '' --appendonly no --dir "$tmp" --loglevel warning &
pids+=($!)

for port in "$S1" "$S2"; do
  REDIS_URL="redis://:${redis_password}@127.0.0.1:${REDIS_PORT}" \
    CONCLAVE_SIGNAL_HOST=127.0.0.1 CONCLAVE_SIGNAL_PORT="$port" \
    CONCLAVE_SIGNAL_ORIGIN="http://127.0.0.1:${PROXY_PORT}" CONCLAVE_SIGNAL_LOG_LEVEL=warn \
    CONCLAVE_SIGNAL_REGISTRY_TOKEN="$registry_token" \
    node packages/signaling-server/bin/conclave-signal.js >/dev/null &
  pids+=($!)
done

# deploy/nginx.conf with the compose service names replaced by the local ports
sed -e "s/signal-1:8787/127.0.0.1:${S1}/; s/signal-2:8787/127.0.0.1:${S2}/" \
  -e "s/listen 8080;/listen 127.0.0.1:${PROXY_PORT};/" deploy/nginx.conf >"$tmp/conclave.conf"
cat >"$tmp/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log stderr warn;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  include $tmp/conclave.conf;
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids+=($!)

# loopback peers are allowed here only: both test parties relay through 127.0.0.1
turnserver -c deploy/turnserver.conf --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 \
  --listening-port="$TURN_PORT" --static-auth-secret="$turn_secret" --allow-loopback-peers \
  --pidfile="$tmp/turnserver.pid" --userdb="$tmp/turndb" --log-file="$tmp/turn.log" >/dev/null &
pids+=($!)

for port in "$S1" "$S2"; do
  for _ in $(seq 1 100); do
    node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
      "http://127.0.0.1:${port}/readyz" && break
    sleep 0.2
  done
done

ice="$(SECRET="$turn_secret" PORT="$TURN_PORT" node -e '
  const { createHmac } = require("node:crypto")
  const username = `${Math.floor(Date.now() / 1000) + 3600}:local-trial`
  const credential = createHmac("sha1", process.env.SECRET).update(username).digest("base64")
  console.log(JSON.stringify([{ urls: `turn:127.0.0.1:${process.env.PORT}`, username, credential }]))
')"
log "signaling (through nginx): http://127.0.0.1:${PROXY_PORT}"
log "instances: http://127.0.0.1:${S1} and http://127.0.0.1:${S2} (/livez, /readyz, /metrics, /registry/stats)"
log "registry listing: curl -H 'Authorization: Bearer ${registry_token}' http://127.0.0.1:${S1}/registry/nodes"
log "TURN credentials valid for 1 h:"
printf "export CONCLAVE_ICE_SERVERS='%s'\n" "$ice"
log "e.g. conclave-party run --signal http://127.0.0.1:${PROXY_PORT} --room r1 --key k.json --ice-relay-only"
log "Ctrl-C stops everything"
wait -n "${pids[@]}"
log "a process exited: stopping"
