#!/usr/bin/env bash
# Installs a real VS Code extension host for the extension tests, into a cache outside the clone:
# code-server (VS Code's server with a Node extension host), Debian's chromium as its browser client,
# playwright-core to drive chromium, and mocha for the suites that run inside the host. Everything comes
# from Debian's packages and the npm registry; nothing is downloaded at test time.
# Safe to run again: a marker with the versions makes a second run a few dpkg queries.
set -euo pipefail

HOST_DIR="${RADISH_VSCODE_HOST_DIR:-$HOME/.cache/radish-vscode-host}"
# The newest code-server whose engines.node is 20 (4.103+ need Node 22); it carries VS Code 1.100.3.
CODE_SERVER_VERSION=4.100.3
# playwright-core, never playwright: the latter downloads browsers, and we use Debian's chromium.
PLAYWRIGHT_VERSION=1.65.1
# Mocha 11 is CommonJS, which the extension host's module loader takes as is.
MOCHA_VERSION=11.8.0
# libkrb5-dev: code-server's kerberos module builds against gssapi.h. ripgrep: see below. make, g++, python3:
# node-gyp builds for node-pty, kerberos and argon2.
APT_PACKAGES=(libkrb5-dev ripgrep chromium fonts-liberation make g++ python3)

say() { printf 'vscode-host: %s\n' "$*"; }
fail() { say "$*" >&2; exit 1; }

# `dpkg -s` also succeeds for removed packages whose config files remain; ask for the status.
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_system_packages() {
  if [ -r /etc/debian_version ] && command -v dpkg-query >/dev/null; then
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do deb_installed "$pkg" || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -ne 0 ]; then
      fail "missing system packages: ${missing[*]} (install them with: sudo apt-get install -y --no-install-recommends ${missing[*]})"
    fi
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local out
    if ! out=$(apt-get update -qq 2>&1 && apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
      printf '%s\n' "$out" >&2
      fail "apt-get install ${missing[*]} failed"
    fi
  else
    local cmd
    for cmd in "${RADISH_CHROMIUM:-chromium}" rg make g++ python3; do
      command -v "$cmd" >/dev/null || say "warning: $cmd not found (needed by the VS Code host; set RADISH_CHROMIUM for another chromium)"
    done
  fi
}

# Writes package.json for a cache project (exact versions, and which packages may run install scripts: npm 11
# warns about the others and a later npm will skip them) and runs npm there. npm's chatter (node-gyp builds)
# goes to install.log, which is shown only when something fails.
npm_install() {
  local dir=$1 deps=$2 allow_scripts=${3:-}
  mkdir -p "$dir"
  cat >"$dir/package.json" <<JSON
{
  "name": "radish-vscode-host-$(basename "$dir")",
  "private": true,
  "description": "Written by radish's test/support/vscode-host/install.sh",
  "dependencies": { $deps },
  "allowScripts": { $allow_scripts }
}
JSON
  if ! (cd "$dir" && npm install --no-audit --no-fund --foreground-scripts) >>"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    fail "npm install failed in $dir (full log: $LOG)"
  fi
}

install_code_server() {
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" = 20 ] || fail "code-server $CODE_SERVER_VERSION needs Node.js 20 (this is $(node -v)); its postinstall checks the major version"

  # @vscode/ripgrep's postinstall downloads rg from GitHub, which may be unreachable. It first looks in a
  # download cache under os.tmpdir(): seed it with Debian's rg, packed under the asset name it asks for.
  command -v rg >/dev/null || fail "ripgrep (rg) is needed to install code-server offline"
  local tmp=$HOST_DIR/tmp
  local seed=$tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
  mkdir -p "$(dirname "$seed")" "$tmp/rg"
  cp "$(command -v rg)" "$tmp/rg/rg"
  tar czf "$seed" -C "$tmp/rg" rg

  say "npm install code-server@$CODE_SERVER_VERSION (1-3 minutes: native modules build from source)"
  # As root, code-server's postinstall refuses to run without npm_config_unsafe_perm (npm 11 dropped the flag
  # but scripts still see the variable). node-pty's postinstall runs `npx node-gyp`, which must not prompt
  # even where ~/.npmrc says yes=false.
  TMPDIR=$tmp npm_config_unsafe_perm=true npm_config_yes=true \
    npm_install "$HOST_DIR/code-server" "\"code-server\": \"$CODE_SERVER_VERSION\"" '"code-server": true, "argon2": true'

  local vscode=$HOST_DIR/code-server/node_modules/code-server/lib/vscode/node_modules
  [ -x "$vscode/@vscode/ripgrep/bin/rg" ] || fail "code-server installed without ripgrep (see $LOG)"
  [ -f "$vscode/node-pty/build/Release/pty.node" ] || fail "code-server installed without node-pty's native module (see $LOG)"
}

install_system_packages

mkdir -p "$HOST_DIR"
MARKER=$HOST_DIR/installed
LOG=$HOST_DIR/install.log
# Native modules are built for this Node's ABI: another Node needs another install.
WANT="code-server=$CODE_SERVER_VERSION playwright-core=$PLAYWRIGHT_VERSION mocha=$MOCHA_VERSION node-abi=$(node -p process.versions.modules)"
CODE_SERVER_BIN=$HOST_DIR/code-server/node_modules/.bin/code-server

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -x "$CODE_SERVER_BIN" ] \
  && [ -f "$HOST_DIR/driver/node_modules/playwright-core/package.json" ] \
  && [ -f "$HOST_DIR/driver/node_modules/mocha/package.json" ]; then
  say "installed at $HOST_DIR ($WANT)"
  exit 0
fi

started=$(date +%s)
rm -f "$MARKER"
: >"$LOG"
say "installing into $HOST_DIR (about 340 MB)"
# code-server is the slow part: keep it when only the driver's versions changed.
CODE_SERVER_WANT="$CODE_SERVER_VERSION node-abi=$(node -p process.versions.modules)"
if [ "$(cat "$HOST_DIR/code-server/installed" 2>/dev/null)" != "$CODE_SERVER_WANT" ] || [ ! -x "$CODE_SERVER_BIN" ]; then
  install_code_server
  echo "$CODE_SERVER_WANT" >"$HOST_DIR/code-server/installed"
fi
say "npm install playwright-core@$PLAYWRIGHT_VERSION mocha@$MOCHA_VERSION"
npm_install "$HOST_DIR/driver" "\"playwright-core\": \"$PLAYWRIGHT_VERSION\", \"mocha\": \"$MOCHA_VERSION\""

version=$(XDG_CONFIG_HOME=$HOST_DIR/tmp/xdg-config XDG_DATA_HOME=$HOST_DIR/tmp/xdg-data "$CODE_SERVER_BIN" --version 2>/dev/null | tail -n 1)
rm -rf "$HOST_DIR/tmp"
echo "$WANT" >"$MARKER"
say "done in $(($(date +%s) - started)) s: code-server $version"
