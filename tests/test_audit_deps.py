"""scripts/audit_deps.py: fails CI on a known vulnerability, warns (and passes) when the vulnerability
database cannot be reached, since pip-audit's own "No known vulnerabilities found" then means nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "audit_deps.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_deps"] = module
    spec.loader.exec_module(module)
    return module


def test_a_reported_vulnerability_fails_and_names_the_fix(audit: ModuleType) -> None:
    vuln = {"id": "PYSEC-2026-1", "fix_versions": ["5.2.20"]}
    report = {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": [vuln]}], "fixes": []}
    status, message = audit.verdict(0, report, "")
    assert status == 1 and "django 5.2.19: PYSEC-2026-1 (fixed in 5.2.20)" in message


def test_every_package_skipped_is_a_warning_not_a_pass(audit: ModuleType) -> None:
    deps = [{"name": n, "skip_reason": "Dependency not found on PyPI and could not be audited"} for n in "abc"]
    status, message = audit.verdict(0, {"dependencies": deps, "fixes": []}, "")
    assert status == 0 and message.startswith("WARNING") and "none of the 3 installed packages" in message


def test_a_database_that_cannot_be_resolved_is_a_warning(audit: ModuleType) -> None:
    status, message = audit.verdict(1, None, "requests.exceptions.ConnectionError: NameResolutionError(...)")
    assert status == 0 and "could not be reached" in message


def test_pip_audit_failing_for_another_reason_fails(audit: ModuleType) -> None:
    status, message = audit.verdict(2, None, "error: unrecognized arguments: --nope")
    assert status == 1 and "unrecognized arguments" in message


def test_a_clean_audit_passes(audit: ModuleType) -> None:
    deps = [{"name": "django", "version": "5.2.19", "vulns": []}, {"name": "x", "skip_reason": "local"}]
    status, message = audit.verdict(0, {"dependencies": deps, "fixes": []}, "")
    assert (status, message) == (0, "OK: no known vulnerabilities in 1 installed packages (1 could not be audited).")
