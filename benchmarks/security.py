"""Security benchmark: the class-level checks, each counted, written to benchmarks/results/security.json.

- `schemathesis_requests`, `schemathesis_server_errors`: the API fuzzed from its OpenAPI document against a
  live `hubbub serve` on loopback (its own data directory: the airline sample imported, an admin's token);
- `isolation_checks`, `isolation_leaks`: every route requested across organisations and brands
  (`tests/security/isolation_cases.py`);
- `ssrf_attempts`, `ssrf_reached`: outbound requests aimed at loopback, private and metadata addresses, and
  how many reached their target (`tests/security/ssrf_cases.py`);
- `poison_rows_pending_after_sweep`: poison rows still pending after an import and a sweep
  (`benchmarks/poison_import.py`).

A check whose module has not landed is written as null and the run says "not measured: <why>"; any other
error stops the run, so a figure is never made up. Run: `python benchmarks/security.py`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "security.json"
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

Figures = dict[str, Any]
POISON_GOOD_ROWS = 2_000
_TOKEN_SCRIPT = """
import django
django.setup()
from django.contrib.auth import get_user_model
from hubbub.api.models import ApiToken
from hubbub.tenancy.models import Organization
user = get_user_model().objects.get(username="bench-admin")
print(ApiToken.issue(user, Organization.objects.get(slug="bench").pk, "security benchmark")[1])
"""


def _hubbub(env: dict[str, str], *args: str) -> str:
    cli = [sys.executable, "-m", "hubbub", *args]
    return subprocess.run(cli, env=env, check=True, capture_output=True, text=True).stdout


def schemathesis_figures() -> Figures:
    from tests.browser_server import serve
    from tests.security.test_schemathesis import run_schemathesis

    data_dir = Path(tempfile.mkdtemp(prefix="hubbub-security-serve-"))
    env = {**os.environ, "HUBBUB_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "hubbub.settings"}
    env.setdefault("HUBBUB_SECRET_KEY", "security-benchmark-only")
    env.pop("DATABASE_URL", None)
    _hubbub(env, "migrate")
    _hubbub(env, "import", "airline", str(ROOT / "tests" / "data" / "airline_sample.csv"), "--org", "bench")
    password = secrets.token_urlsafe(18)
    _hubbub(env, "user", "add", "bench-admin", "--role", "admin", "--org", "bench", "--password", password)
    done = subprocess.run([sys.executable, "-c", _TOKEN_SCRIPT], env=env, check=True, capture_output=True, text=True)
    token = done.stdout.strip().splitlines()[-1]
    servers = serve(data_dir, env, [sys.executable, "-m", "hubbub"])
    server = next(servers)
    try:
        requests, server_errors = run_schemathesis(server.base, token)
    finally:
        servers.close()  # stops the server and removes its data directory
    return {"schemathesis_requests": requests, "schemathesis_server_errors": server_errors}


def isolation_figures() -> Figures:
    from tests.security.isolation_cases import isolation_checks

    checks, leaks = isolation_checks()
    for leak in leaks:
        print(f"  leak: {leak}")
    return {"isolation_checks": checks, "isolation_leaks": len(leaks)}


def ssrf_figures() -> Figures:
    from tests.security.ssrf_cases import run_ssrf_attempts

    attempts, reached = run_ssrf_attempts()
    return {"ssrf_attempts": attempts, "ssrf_reached": reached}


def poison_figures() -> Figures:
    from poison_import import run

    return {"poison_rows_pending_after_sweep": run(n_good=POISON_GOOD_ROWS)["poison_rows_pending_after_sweep"]}


CHECKS: dict[str, tuple[tuple[str, ...], Callable[[], Figures]]] = {
    "schemathesis": (("schemathesis_requests", "schemathesis_server_errors"), schemathesis_figures),
    "isolation": (("isolation_checks", "isolation_leaks"), isolation_figures),
    "ssrf": (("ssrf_attempts", "ssrf_reached"), ssrf_figures),
    "poison": (("poison_rows_pending_after_sweep",), poison_figures),
}


def measure(name: str, keys: tuple[str, ...], run: Callable[[], Figures]) -> Figures:
    """One check's figures, or nulls with the reason when its module has not landed."""
    started = time.monotonic()
    try:
        figures = run()
    except ModuleNotFoundError as exc:
        print(f"not measured: {name} ({exc}; its module has not landed)")
        return dict.fromkeys(keys)
    print(f"{name}: {figures} ({time.monotonic() - started:.0f} s)")
    return figures


def main() -> None:
    from _common import setup_django

    setup_django(tempfile.mkdtemp(prefix="hubbub-security-"))  # isolation, SSRF and poison run in-process
    figures: Figures = {}
    for name, (keys, run) in CHECKS.items():
        figures.update(measure(name, keys, run))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
