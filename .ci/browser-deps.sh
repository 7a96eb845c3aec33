#!/usr/bin/env bash
# Installs what the browser tests need, only when it is missing: Debian's Chromium and the npm
# dev dependencies (playwright-core drives the system Chromium; it never downloads a browser).
# Idempotent and non-interactive; run from anywhere, as root on CI.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  # Refresh the package lists only when they are absent or the first install attempt fails.
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    $sudo apt-get update -qq
  fi
  $sudo apt-get install -y -qq chromium >/dev/null \
    || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null; }
fi

if ! command -v node >/dev/null 2>&1; then
  echo "browser-deps: node (>= 20) is required for the browser tests" >&2
  exit 1
fi

if [ ! -f node_modules/playwright-core/package.json ]; then
  # The lock file pins playwright-core; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps npm from fetching browsers.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

echo "browser-deps: $(chromium --version 2>/dev/null | head -1), playwright-core $(node -p "require('./node_modules/playwright-core/package.json').version")"
