#!/usr/bin/env bash
# Builds the extension package: a static linux-x64 aioscope binary in bin/, the bundled
# extension in dist/, and aioscope-<version>.vsix next to package.json.
#
# Usage: vscode-extension/scripts/package.sh        (from anywhere; idempotent)
# Needs Go and Node.js 20+ with npm; works offline once node_modules/ is installed.
set -euo pipefail

ext_dir=$(cd "$(dirname "$0")/.." && pwd)
root_dir=$(cd "$ext_dir/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"

log() { echo "package: $*" >&2; }

command -v go >/dev/null || { log "go not found (put Go 1.26 on PATH)"; exit 1; }
command -v npm >/dev/null || { log "npm not found (install Node.js 20 or newer)"; exit 1; }

version=$(node -p "require('$ext_dir/package.json').version")
bin_version=$(git -C "$root_dir" describe --tags --always --dirty 2>/dev/null || echo dev)

log "building static linux-x64 aioscope ($bin_version) into vscode-extension/bin/"
mkdir -p "$ext_dir/bin"
(cd "$root_dir" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath \
  -ldflags "-s -w -X main.version=$bin_version" -o "$ext_dir/bin/aioscope" ./cmd/aioscope)
chmod 755 "$ext_dir/bin/aioscope"

"$ext_dir/scripts/npm-install.sh"

cd "$ext_dir"
log "bundling and packaging aioscope-$version.vsix"
rm -f "aioscope-$version.vsix"
# vscode:prepublish type-checks and bundles (minified) before vsce collects the files.
npx --no-install vsce package --target linux-x64 --no-dependencies --skip-license \
  --out "aioscope-$version.vsix" >&2
log "wrote $ext_dir/aioscope-$version.vsix"
echo "$ext_dir/aioscope-$version.vsix"
