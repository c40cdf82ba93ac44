#!/usr/bin/env bash
# Installs what the end-to-end tests need, idempotently, outside git:
#   - Debian packages (chromium, a C toolchain for node-pty, ripgrep) only when missing;
#   - code-server 4.100.3 (VS Code 1.100.3's real workbench) into .cache/code-server.
# code-server 4.100.3 is the newest that runs on Node 20; @vscode/test-electron cannot download
# VS Code on machines with only the npm registry and Debian's repositories reachable.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${TALLY_E2E_CACHE:-$root/.cache}"
version=4.100.3
dir="$cache/code-server"

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
command -v make >/dev/null && command -v g++ >/dev/null || need+=(build-essential)
command -v python3 >/dev/null || need+=(python3)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "e2e setup: installing Debian packages: ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

bin="$dir/node_modules/.bin/code-server"
rgbin="$dir/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
if [ -x "$bin" ] && [ -e "$rgbin" ] && [ -f "$dir/.installed-$version" ]; then
  echo "e2e setup: code-server $version already in $dir"
  exit 0
fi

echo "e2e setup: installing code-server $version into $dir (a few minutes, once)"
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# @vscode/ripgrep's postinstall downloads from GitHub unless its cache holds the archive:
# give it Debian's rg.
mkdir -p "$tmp/vscode-ripgrep-cache-1.15.11"
tar czf "$tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
cd "$dir"
[ -f package.json ] || echo '{"name":"tally-e2e-code-server","private":true}' > package.json
TMPDIR="$tmp" npm_config_nodedir=/usr npm_config_yes=true npm_config_fund=false npm_config_audit=false \
  npm install --no-save --unsafe-perm --loglevel=error "code-server@$version"
if [ ! -e "$rgbin" ]; then
  echo "e2e setup: $rgbin is missing (install scripts did not run?)" >&2
  exit 1
fi
touch "$dir/.installed-$version"
echo "e2e setup: done"
