#!/usr/bin/env bash
# The one test command (README and .ci/run): lint and types, then the suite on SQLite, then on PostgreSQL.
# HUBBUB_REQUIRE_SERVICES=1 turns "PostgreSQL / Redis / Chromium not available" skips into failures.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
PG_URL=${HUBBUB_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export HUBBUB_DATA_DIR=${HUBBUB_DATA_DIR:-$(mktemp -d -t hubbub-tests-XXXX)}
export HUBBUB_SECRET_KEY=${HUBBUB_SECRET_KEY:-test-only-secret}
# Two workers by default (pytest-xdist; test files stay whole so module fixtures such as the browser's server
# are started once). HUBBUB_TEST_WORKERS=0 runs in one process.
WORKERS=${HUBBUB_TEST_WORKERS:-2}
XDIST=()
if [ "$WORKERS" != "0" ] && $PY -c "import xdist" 2>/dev/null; then XDIST=(-n "$WORKERS" --dist loadfile); fi
status=0

echo "== ruff"
$PY -m ruff check src tests benchmarks || status=1

echo "== mypy"
$PY -m mypy src || status=1

echo "== app import graph (a tree: no cycle between apps) and code size (files ≤ 600 lines, functions ≤ 80)"
$PY scripts/app_imports.py > /tmp/hubbub-app-imports.txt 2>&1 || { cat /tmp/hubbub-app-imports.txt; status=1; }
tail -1 /tmp/hubbub-app-imports.txt
$PY scripts/code_size.py || status=1

echo "== dependency audit (pip-audit: fails on a known vulnerability, warns when its database is unreachable)"
$PY scripts/audit_deps.py || status=1

echo "== tests on SQLite (embedded)"
env -u DATABASE_URL $PY -m pytest -q --durations=20 "${XDIST[@]}" "$@" || status=1

echo "== tests on PostgreSQL ($PG_URL)"
if $PY - "$PG_URL" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}")
    sys.exit(1)
PYEOF
then
  DATABASE_URL=$PG_URL $PY -m pytest -q --durations=20 "${XDIST[@]}" -m "not browser and not slow" -p no:cacheprovider "$@" || status=1
elif [ "${HUBBUB_REQUIRE_SERVICES:-0}" = "1" ]; then
  echo "FAILED: PostgreSQL is required (HUBBUB_REQUIRE_SERVICES=1)"; status=1
else
  echo "SKIPPED: PostgreSQL run (server not reachable; set HUBBUB_TEST_POSTGRES_URL)"
fi
exit $status
