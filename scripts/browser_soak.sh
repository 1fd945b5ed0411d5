#!/usr/bin/env bash
# The browser tests again and again under deliberate load: a test that only passes on a quiet machine is a bug.
# usage: scripts/browser_soak.sh [runs=20] [stress=1]
#   stress=1 runs `stress-ng --cpu <cores>` beside each run (apt-get install stress-ng).
# Each run's log is kept in test-artifacts/soak/run-N.log and one line per run is added to summary.txt there.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
STRESS=${2:-1}
PY=${PYTHON:-.venv/bin/python}
OUT=test-artifacts/soak
mkdir -p "$OUT"
export HUBBUB_SECRET_KEY=${HUBBUB_SECRET_KEY:-test-only-secret}
for i in $(seq 1 "$RUNS"); do
  load=""
  if [ "$STRESS" = 1 ]; then stress-ng --cpu "$(nproc)" --timeout 3600s >/dev/null 2>&1 & load=$!; fi
  started=$(date +%s)
  # -v: each test's name and outcome as it ends, so a run stopped midway still says which test failed
  timeout 3600 "$PY" -m pytest -v -n 2 --dist loadfile -p no:cacheprovider -m "browser and not faults" \
    --durations=12 tests > "$OUT/run-$i.log" 2>&1
  rc=$?
  if [ -n "$load" ]; then kill "$load" 2>/dev/null; wait "$load" 2>/dev/null; fi
  echo "run $i $(git rev-parse --short HEAD) rc=$rc $(( $(date +%s) - started ))s $(tail -n 1 "$OUT/run-$i.log")" \
    | tee -a "$OUT/summary.txt"
done
