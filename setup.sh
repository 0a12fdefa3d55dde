#!/usr/bin/env bash
# Set up a fresh clone: system packages (Redis, RabbitMQ, Celery for the interop tests, OpenSSL for
# the TLS tests), node modules, and the build. Safe to run again; CI runs it before `npm test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

say() { printf 'setup: %s\n' "$*"; }

APT_PACKAGES=(redis-server rabbitmq-server python3-celery python3-redis python3-django python3-debugpy openssl unzip)
# Debian's Celery lives in /usr/bin/python3's dist-packages; a pyenv or venv python3 on PATH
# does not see it. The test harness uses the same variable.
CELERY_PYTHON="${CELERY_PYTHON:-/usr/bin/python3}"

# `dpkg -s` also succeeds for removed packages whose config files remain; ask for the status.
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if [ -r /etc/debian_version ] && command -v dpkg-query >/dev/null; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do deb_installed "$pkg" || missing+=("$pkg"); done
  if [ ${#missing[@]} -eq 0 ]; then
    say "system packages present: ${APT_PACKAGES[*]}"
  elif [ "$(id -u)" -eq 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
  else
    say "missing system packages: ${missing[*]}"
    say "  install them with: sudo apt-get install -y ${missing[*]}"
    say "  (continuing: the tests that need them will say they were skipped)"
  fi
else
  # Not Debian: check for what the tests actually use.
  command -v redis-server >/dev/null || say "missing: redis-server (e.g. brew install redis)"
  command -v rabbitmq-server >/dev/null || say "missing: rabbitmq-server (e.g. brew install rabbitmq; RabbitMQ tests are skipped without it)"
  command -v openssl >/dev/null || say "missing: openssl (TLS tests are skipped without it)"
  if ! "$CELERY_PYTHON" -c 'import celery, redis' >/dev/null 2>&1; then
    say "missing: Celery 5.2 for $CELERY_PYTHON (interop tests are skipped without it)"
    say "  e.g. python3 -m pip install 'celery[redis]>=5.2,<5.3' django, then export CELERY_PYTHON=\$(command -v python3)"
  fi
fi

# RabbitMQ: the tests make a vhost per suite on the local service (guest/guest on 127.0.0.1:5672) through its
# management API on 127.0.0.1:15672, about 50 ms, where rabbitmqctl takes about a second (test/support/rabbitmq.ts
# falls back to it). Debian's rabbitmqctl works for root only (it runs as the rabbitmq user, with its cookie).
if command -v rabbitmqctl >/dev/null; then
  rabbit_up() { rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1; }
  if ! rabbit_up && [ "$(id -u)" -eq 0 ] && command -v service >/dev/null; then
    say "RabbitMQ is not running: service rabbitmq-server start"
    service rabbitmq-server start >/dev/null 2>&1 || say "  could not start it"
  fi
  if rabbit_up; then
    if rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1; then
      say "RabbitMQ management plugin already enabled (API on http://127.0.0.1:15672)"
    elif out=$(rabbitmq-plugins -q enable rabbitmq_management 2>&1); then
      say "RabbitMQ: enabled the management plugin (API on http://127.0.0.1:15672)"
    else
      say "RabbitMQ: could not enable the management plugin: $(printf '%s' "$out" | grep . | tail -n1 | cut -c1-200)"
      say "  (continuing: the tests use rabbitmqctl instead, about a second a call)"
    fi
  elif rabbitmq-plugins -q enable --offline rabbitmq_management >/dev/null 2>&1; then
    say "RabbitMQ: rabbitmqctl cannot reach the local node; enabled the management plugin for its next start"
    say "  (continuing: the tests that need RabbitMQ say why they were skipped)"
  else
    say "RabbitMQ: rabbitmqctl cannot reach the local node$([ "$(id -u)" -eq 0 ] || echo ' (not root)'): management plugin left as it is"
    say "  (continuing: the tests that need RabbitMQ say why they were skipped)"
  fi
fi

if version=$("$CELERY_PYTHON" -c 'import celery; print(celery.__version__)' 2>/dev/null); then
  say "celery $version at $CELERY_PYTHON"
fi

command -v node >/dev/null || { say "node is not installed: Node.js 20 or newer is required"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { say "node $(node -v) is too old: Node.js 20 or newer is required"; exit 1; }

# npm 11 does not run dependencies' install scripts unless approved; esbuild works without its
# postinstall (it resolves its platform binary package at run time), so nothing to approve.
if [ -f package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
else
  say "npm install"
  npm install --no-audit --no-fund
fi
# The peers `npm run bench` compares against (BullMQ, bee-queue, celery-node) have their own package in bench/,
# so Radish's dependencies stay lean; the bench skips them, saying so, when they are missing.
say "npm ci --prefix bench"
npm ci --prefix bench --no-audit --no-fund

say "npm run build"
npm run build

# The extension tests run in a real VS Code host: code-server, Debian's chromium and playwright-core, installed
# into a cache outside the clone (~650 MB, a few minutes the first time, seconds after that).
if [ "${RADISH_SKIP_VSCODE_HOST:-}" = "1" ]; then
  say "skipping the VS Code host (RADISH_SKIP_VSCODE_HOST=1): the extension tests will say they were skipped"
else
  bash test/support/vscode-host/install.sh
fi
say "done: run the tests with 'npm test'"
