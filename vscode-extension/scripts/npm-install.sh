#!/usr/bin/env bash
# Installs the extension's build and test tools (package-lock.json) into node_modules/, once:
# a second run with an unchanged lock file does nothing.
set -euo pipefail

ext_dir=$(cd "$(dirname "$0")/.." && pwd)
cd "$ext_dir"
stamp=node_modules/.aioscope-lock-stamp
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
echo "npm-install: installing the extension's dev dependencies" >&2
# npm 11 skips dependencies' install scripts unless allowed; esbuild needs its own.
npm_config_dangerously_allow_all_scripts=true npm_config_fund=false npm_config_audit=false \
  npm ci --no-progress --loglevel=error >&2
cp package-lock.json "$stamp"
