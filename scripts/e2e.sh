#!/usr/bin/env bash
# End-to-end test of the VS Code extension in a real VS Code: code-server 4.100.3 in headless
# Chromium driven by playwright-core. Installs what it needs (idempotently; caches in
# vscode-extension/.e2e-cache/), packages the .vsix, installs it into a private code-server,
# attaches to scenario programs run by real CPython 3.14 and 3.15, and checks what a user sees: the
# CALL STACK, source navigation, the Await Tree, new snapshots reaching every view, groups of
# identical tasks, error dialogs, a process that exits, launch.json. Screenshots go to
# vscode-extension/.e2e-artifacts/.
#
# Usage: scripts/e2e.sh [--setup-only]
#   AIOSCOPE_E2E_PYTHONS   versions to test (default "3.14 3.15")
#   AIOSCOPE_E2E_CACHE     tool cache (default vscode-extension/.e2e-cache)
#   AIOSCOPE_E2E_ARTIFACTS screenshots and logs (default vscode-extension/.e2e-artifacts)
#   AIOSCOPE_E2E_BUDGET_SCALE  scales the time budgets of the 10,000-task attach (default 1: 1.5 s
#                          to the first CALL STACK row, 2 s to the Await Tree, on a quiet machine)
#   AIOSCOPE_E2E_PARTS     the parts of the scenario to run, comma-separated (default: all; see
#                          scripts/e2e-vscode.mjs)
#
# Needs: Debian/Ubuntu x86-64, root (for apt-get) unless chromium, libkrb5-dev and ripgrep are
# installed already, Go, Node.js 20 with npm, and access to the Debian mirror and npm registry
# on the first run.
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/.." && pwd)
ext_dir=$root_dir/vscode-extension
cache=${AIOSCOPE_E2E_CACHE:-$ext_dir/.e2e-cache}
artifacts=${AIOSCOPE_E2E_ARTIFACTS:-$ext_dir/.e2e-artifacts}
read -r -a pythons <<<"${AIOSCOPE_E2E_PYTHONS:-3.14 3.15}"
code_server_version=4.100.3
playwright_version=1.56.1
setup_only=false
[ "${1:-}" = "--setup-only" ] && setup_only=true
export PATH="$PATH:/usr/local/go/bin"

log() { echo "e2e: $*" >&2; }
start=$(date +%s)
t0=$start
phase() { # records how long the previous phase took
  local now
  now=$(date +%s)
  log "$1 ($((now - t0)) s)"
  t0=$now
}

mkdir -p "$cache" "$artifacts"

# --- Node.js: code-server $code_server_version asks for Node.js 20 (later releases for newer ones).
command -v node >/dev/null && command -v npm >/dev/null || { log "node and npm not found (install Node.js 20)"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { log "Node.js $(node --version) is too old: code-server $code_server_version needs 20"; exit 1; }

# --- system packages: Chromium to drive, libkrb5-dev for code-server's native modules, ripgrep
# --- to seed @vscode/ripgrep (which would otherwise download from GitHub), an emoji font for the
# --- marks the views use (⏳) and the scenarios' names, as a desktop has one.
missing=()
for pkg in chromium libkrb5-dev ripgrep fonts-noto-color-emoji; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "missing packages: ${missing[*]} (install them, or run this as root on Debian/Ubuntu)"
    exit 1
  fi
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${missing[@]}" >/dev/null
fi
chromium_bin=$(command -v chromium || true)
[ -n "$chromium_bin" ] || { log "chromium is not on PATH after installing it"; exit 1; }
phase "system packages ready"

# --- code-server, in its own npm prefix.
cs_dir=$cache/code-server-$code_server_version
cs_bin=$cs_dir/node_modules/.bin/code-server
if [ ! -x "$cs_bin" ] || [ ! -f "$cs_dir/.installed" ]; then
  log "installing code-server $code_server_version (about a minute)"
  rm -rf "$cs_dir"
  mkdir -p "$cs_dir/tmp"
  rg_cache=$cs_dir/tmp/vscode-ripgrep-cache-1.15.11
  mkdir -p "$rg_cache"
  tar -czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  echo '{"name":"aioscope-e2e-code-server","private":true}' >"$cs_dir/package.json"
  (cd "$cs_dir" && TMPDIR="$cs_dir/tmp" npm_config_yes=true npm_config_unsafe_perm=true \
    npm_config_dangerously_allow_all_scripts=true npm_config_fund=false npm_config_audit=false \
    npm install --no-progress --loglevel=error "code-server@$code_server_version" --foreground-scripts \
    >"$cache/code-server-install.log" 2>&1) || {
    tail -40 "$cache/code-server-install.log" >&2
    log "installing code-server failed (full log: $cache/code-server-install.log)"
    exit 1
  }
  rm -rf "$cs_dir/tmp"
  touch "$cs_dir/.installed"
fi
phase "code-server $code_server_version ready"

# --- playwright-core (no browser download: it drives Debian's chromium).
pw_dir=$cache/playwright-$playwright_version
if [ ! -f "$pw_dir/node_modules/playwright-core/package.json" ]; then
  log "installing playwright-core $playwright_version"
  rm -rf "$pw_dir"
  mkdir -p "$pw_dir"
  echo '{"name":"aioscope-e2e-playwright","private":true}' >"$pw_dir/package.json"
  (cd "$pw_dir" && npm_config_fund=false npm_config_audit=false \
    npm install --no-progress --loglevel=error "playwright-core@$playwright_version" >&2)
fi
phase "playwright-core ready"

# --- CPython 3.14 / 3.15 (Debian sid's, unpacked into .cache/).
declare -A python_path
while read -r v p; do
  python_path[$v]=$p
done < <("$root_dir/scripts/provision-python.sh" "${pythons[@]}" 3.13)
phase "CPython ${pythons[*]} ready (and 3.13, which aioscope refuses)"

# --- the extension package (also builds the static aioscope it bundles).
vsix=$("$ext_dir/scripts/package.sh" | tail -1)
[ -f "$vsix" ] || { log "packaging did not produce a .vsix"; exit 1; }
phase "packaged $(basename "$vsix")"

if $setup_only; then
  log "set-up done in $(($(date +%s) - start)) s"
  exit 0
fi

targets=()
for v in "${pythons[@]}"; do
  targets+=("$v=${python_path[$v]}")
done

status=0
AIOSCOPE_E2E_CODE_SERVER=$cs_bin \
AIOSCOPE_E2E_CHROMIUM=$chromium_bin \
AIOSCOPE_E2E_PLAYWRIGHT=$pw_dir \
AIOSCOPE_E2E_VSIX=$vsix \
AIOSCOPE_E2E_AIOSCOPE=$ext_dir/bin/aioscope \
AIOSCOPE_E2E_ARTIFACTS=$artifacts \
AIOSCOPE_E2E_WORK=$cache/run \
AIOSCOPE_E2E_SCENARIOS=$root_dir/testdata/scenarios \
AIOSCOPE_E2E_TARGETS="${targets[*]}" \
AIOSCOPE_E2E_PYTHON313="${python_path[3.13]}" \
  node "$root_dir/scripts/e2e-vscode.mjs" || status=$?
phase "browser tests finished"
log "total $(($(date +%s) - start)) s; screenshots and logs in $artifacts"
exit $status
