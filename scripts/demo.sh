#!/usr/bin/env bash
# make demo: start the bundled asyncio service under a real CPython, show its tasks, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/aioscope}
version=${AIOSCOPE_DEMO_PYTHON:-3.14}
python=$(scripts/provision-python.sh "$version" | awk '{print $2}')

fifo=$(mktemp -u); mkfifo "$fifo"
"$python" testdata/demo/service.py >"$fifo" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r ready target <"$fifo" || true
[ "$ready" = READY ] || { echo "demo: the service did not start" >&2; exit 1; }

echo "== $python testdata/demo/service.py is running as PID $pid; it keeps running while we look."
echo
echo "\$ aioscope pstree $pid"
"$bin" pstree "$pid"
echo
echo "\$ aioscope ps $pid"
"$bin" ps "$pid"
