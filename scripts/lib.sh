#!/usr/bin/env bash
# Shared set-up for the README's commands: installs what Conclave needs on a fresh machine.
# pnpm comes through npx at the exact version of package.json's packageManager (corepack's
# signature check can fail against registry mirrors). Chromium and Redis come from Debian.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PNPM_VERSION="$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")"

pnpm() {
  npx --yes "pnpm@${PNPM_VERSION}" "$@"
}

log() {
  printf '\033[1m[conclave]\033[0m %s\n' "$*" >&2
}

require_node() {
  command -v node >/dev/null || { echo "Node.js 20 or newer is required" >&2; exit 1; }
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then
    echo "Node.js 20 or newer is required (found $(node --version))" >&2
    exit 1
  fi
}

install_deps() {
  require_node
  log "installing packages with pnpm ${PNPM_VERSION}"
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -v 'nodedir' >&2)
}

build_packages() {
  # the CLIs (conclave-party, conclave-signal) run the packages' built dist/; tsc -b rebuilds only
  # what changed since the last build
  log "building the packages (tsc -b)"
  (cd "$ROOT" && pnpm -s build)
}

apt_updated=0
apt_install() {
  # apt_install BINARY PACKAGE…: install PACKAGE… from Debian when BINARY is missing
  local bin="$1"
  shift
  command -v "$bin" >/dev/null 2>&1 && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$bin is missing and apt-get is not available: install $* yourself" >&2
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    $sudo apt-get update -qq >&2
    apt_updated=1
  fi
  log "installing $* from Debian"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}
