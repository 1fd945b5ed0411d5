"""`hubbub serve --no-worker --workers 2`: two web processes on one port, both answering, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from tests.browser_server import free_port
from tests.processes import ROOT

#: A bound for a loaded machine to start two processes; a crash ends the wait at once.
START_DEADLINE = 180


def _pid_answering(base: str) -> int | None:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as answer:
            return int(json.load(answer)["pid"])
    except OSError:
        return None


def _children(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return [child for child in psutil.Process(proc.pid).children(recursive=True) if child.is_running()]


def _left_running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie has ended; `is_running` also tells a reused pid from the process)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


def test_two_web_processes_both_answer_and_stop_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "HUBBUB_LOG_FORMAT": "json"}
    env.pop("DATABASE_URL", None)  # embedded mode: nothing shared with the other tests' databases
    env.pop("REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # its output goes to a file: a pipe nobody reads fills up (a log line per request) and blocks the server
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hubbub", "serve", "--no-worker", "--workers", "2", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        seen: set[int] = set()
        deadline = time.monotonic() + START_DEADLINE
        with ThreadPoolExecutor(max_workers=4) as pool:  # parallel connections reach both processes
            while len(seen) < 2 and proc.poll() is None and time.monotonic() < deadline:
                seen |= {pid for pid in pool.map(_pid_answering, [base] * 8) if pid is not None}
        assert proc.poll() is None, log_path.read_text(encoding="utf-8", errors="replace")[-8000:]
        assert len(seen) == 2, f"answered by {seen}"
        assert seen <= {child.pid for child in _children(proc)}  # the two are the server's own processes
        assert (tmp_path / "metrics").is_dir()  # their counters are shared for /metrics
    finally:
        children = _children(proc) if proc.poll() is None else []
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    # Everything it started ends with it. Not all at the same instant: multiprocessing's resource tracker
    # notices its clients are gone a moment after they exit (CI once saw it still running just then).
    deadline = time.monotonic() + 60
    while _left_running(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _left_running(children), [(c.pid, c.cmdline()) for c in _left_running(children)]
