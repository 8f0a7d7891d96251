#!/usr/bin/env bash
# make bench: see scripts/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/aioscope}
mapfile -t pys < <(scripts/provision-python.sh 3.14 3.15 | awk '{print $2}')
exec "${pys[0]}" scripts/bench.py "$bin" "${pys[@]}"
