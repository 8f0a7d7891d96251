#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for the given time each (default 10s) and prints
# one result line per target: its executions and the inputs the run found interesting.
#
# Usage: scripts/fuzz.sh [FUZZTIME]     (make fuzz-smoke runs 3s each, make fuzz FUZZTIME=10m)
#
# Each target first runs its seed corpus (the f.Add seeds and testdata/fuzz/<target>/), then
# fuzzes. A failing input is written by Go to testdata/fuzz/<target>/ of its package; the log of
# the run, with the stack, is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
log=$(mktemp "${TMPDIR:-/tmp}/aioscope-fuzz.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
targets=0
# inputs counts the files of a corpus directory, 0 when there is none yet.
inputs() { if [ -d "$1" ]; then ls "$1" | wc -l; else echo 0; fi; }
failed=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    targets=$((targets + 1))
    start=$(date +%s)
    corpus="$dir/testdata/fuzz/$target"
    before=$(inputs "$corpus")
    ok=0
    for attempt in 1 2; do
      # Minimizing a new interesting input is bounded by the fuzz time too, so that short runs fuzz.
      if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$fuzztime" "$pkg" >"$log" 2>&1; then
        ok=1
        break
      fi
      # Go 1.26's fuzz coordinator can fail a run at its own deadline, having found nothing
      # (golang/go#75804): no failing input written, only "context deadline exceeded". Such a
      # run is taken once more; a failure that wrote an input, or a second one, is reported.
      if [ "$attempt" -eq 1 ] && [ "$(inputs "$corpus")" -eq "$before" ] &&
        grep -q '^ *context deadline exceeded$' "$log"; then
        echo "fuzz: again ${pkg#github.com/aioscope/aioscope/} $target: the run ended with the fuzz engine's own deadline error and no failing input"
        continue
      fi
      break
    done
    if [ "$ok" -eq 1 ]; then
      # The engine's last progress line: "fuzz: elapsed: 3s, execs: 1234 (411/sec), new interesting: 5 (total: 60)";
      # executions of a worker's batch still running at the end are not counted.
      summary=$(grep -o 'execs: [0-9]*\|new interesting: [0-9]* (total: [0-9]*)' "$log" | tail -n 2 | paste -sd, - | sed 's/,/, /' || true)
      echo "fuzz: ok   ${pkg#github.com/aioscope/aioscope/} $target ($fuzztime, $(($(date +%s) - start))s): ${summary:-no progress line}"
    else
      echo "fuzz: FAIL ${pkg#github.com/aioscope/aioscope/} $target ($fuzztime):"
      sed 's/^/    /' "$log"
      failed+=("$target")
      status=1
    fi
  done
done
if [ "$targets" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz: ${#failed[@]} of $targets targets failed: ${failed[*]}" >&2
fi
exit $status
