"""Audit the installed environment for known vulnerabilities (pip-audit), for the test command and CI.

Exit status: 1 when pip-audit reports a vulnerability in an installed version (the fix: upgrade the pin in
pyproject.toml to a fixed version), 0 otherwise. When the vulnerability database cannot be reached (a
machine without internet access), pip-audit either fails to connect or reports every package as "not found"
and then "No known vulnerabilities found"; that is not a clean bill of health, so this script says plainly
that nothing was audited, as a warning that does not fail CI, which may run offline.

    python scripts/audit_deps.py [extra pip-audit arguments]
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

UNREACHABLE_SIGNS = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def run_audit(extra: list[str]) -> tuple[int, dict[str, Any] | None, str]:
    """pip-audit's exit code, its JSON report (None when it printed none) and its error output."""
    cmd = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off", "--skip-editable"]
    done = subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    return done.returncode, report, done.stderr


def verdict(code: int, report: dict[str, Any] | None, stderr: str) -> tuple[int, str]:
    """(exit status, message) for one pip-audit run."""
    if report is None:
        if any(sign in stderr for sign in UNREACHABLE_SIGNS):
            return 0, "WARNING: the vulnerability database could not be reached; nothing was audited."
        return 1, f"FAILED: pip-audit did not run (exit {code}):\n{stderr[-2000:]}"
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [(d, v) for d in audited for v in d.get("vulns", [])]
    if vulnerable:
        lines = [f"  {d['name']} {d['version']}: {v['id']} (fixed in {_fixes(v)})" for d, v in vulnerable]
        return 1, "FAILED: known vulnerabilities in installed packages:\n" + "\n".join(lines)
    if deps and not audited:
        return 0, (
            f"WARNING: the vulnerability database could not be reached; none of the {len(deps)} installed "
            "packages was audited (pip-audit says 'not found on PyPI' for each)."
        )
    skipped = len(deps) - len(audited)
    note = f" ({skipped} could not be audited)" if skipped else ""
    return 0, f"OK: no known vulnerabilities in {len(audited)} installed packages{note}."


def _fixes(vuln: dict[str, Any]) -> str:
    return ", ".join(vuln.get("fix_versions") or ["no release yet"])


def main(argv: list[str]) -> int:
    try:
        code, report, stderr = run_audit(argv)
    except subprocess.TimeoutExpired:
        print("WARNING: pip-audit took more than 10 minutes (an unreachable database?); nothing was audited.")
        return 0
    status, message = verdict(code, report, stderr)
    print(message)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
