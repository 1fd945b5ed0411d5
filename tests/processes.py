"""Running Hubbub's real processes from a test (workers, drivers) on a data directory of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python *args` in the repository, with `env`; the result, whatever the exit code."""
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def driver(module: str, env: dict[str, str], *args: str) -> Any:
    """Run a test driver module (`python -m module *args`) and return the JSON of its last line."""
    done = run(env, "-m", module, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker_dies_at(env: dict[str, str], point: str, extra: dict[str, str] | None = None) -> None:
    """A `hubbub worker` with the crash point `point` set takes the queued work and dies there (exit 137, as
    after kill -9); fails the test if it ends any other way."""
    died = run({**env, **(extra or {}), "HUBBUB_CRASH_AT": point}, "-m", "hubbub", "worker", "--workers", "1")
    assert died.returncode == 137, f"the worker did not die at {point}: {died.returncode} {died.stderr[-1500:]}"


@contextmanager
def healthy_worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A `hubbub worker` with `env` (no crash point) for the duration of the block, then stopped."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "hubbub", "worker", "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=60)
