"""One way for browser tests to get a real Hubbub: `hubbub import` + `hubbub user add` + `hubbub serve`
(uvicorn with the in-process worker) on a free port with its own data directory, and Debian's Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA, REQUIRE_SERVICES

CHROMIUM = "/usr/bin/chromium"
# How long a browser test waits for something that must happen: a live update, a toast, the worker's answer,
# a CLI import started by the test. A deadline, not a measure: a correct page on a loaded CI machine (the
# worker, the CLI and Chromium share two cores with the other test process) must not fail, and a passing run
# never waits it out. Set as Playwright's default for `expect` by tests/conftest.py.
EVENTUALLY_MS = 90_000
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Server:
    base: str
    data_dir: str
    env: dict[str, str]
    cli: list[str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_browser() -> None:
    """Skip (laptop) or fail (CI) without Chromium or Playwright."""
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip("playwright")


def running_server(data_dir: Path, org: str, users: list[tuple[str, str]], password: str) -> Iterator[Server]:
    """The airline sample in `org` with `users` as (name, role) added, served; yield, stop.

    Every module starts from a copy of one import per test process and organisation: the modules' set-up, not
    their tests, had been most of a browser run on a loaded machine (3-7 min each), and the import was the
    largest part of it."""
    require_browser()
    env = {**os.environ, "HUBBUB_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # browser tests always run the embedded mode
    cli = [sys.executable, "-m", "hubbub"]
    shutil.copytree(_imported_sample(org, data_dir.parent, env, cli), data_dir, dirs_exist_ok=True)
    # one process for every user: each `hubbub user add` pays Django's start-up again
    adds = [["user", "add", name, "--role", role, "--org", org, "--password", password] for name, role in users]
    script = (
        "import json, sys\nfrom hubbub.cli import app\nfor a in json.loads(sys.argv[1]): app(a, standalone_mode=False)"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps(adds)], env=env, check=True, capture_output=True)
    yield from serve(data_dir, env, cli)


_TEMPLATES: dict[str, Path] = {}


def _imported_sample(org: str, under: Path, env: dict[str, str], cli: list[str]) -> Path:
    """A data directory holding the airline sample imported into `org` by `hubbub import`, made once per test
    process. Only ever copied: each module's server writes to its own copy."""
    if org not in _TEMPLATES:
        template = under / f"imported-sample-{org}"
        shutil.rmtree(template, ignore_errors=True)
        subprocess.run(
            [*cli, "import", "airline", str(DATA / "airline_sample.csv"), "--org", org],
            env={**env, "HUBBUB_DATA_DIR": str(template)},
            check=True,
            capture_output=True,
        )
        _TEMPLATES[org] = template
    return _TEMPLATES[org]


def serve(data_dir: Path, env: dict[str, str], cli: list[str]) -> Iterator[Server]:
    """`hubbub serve` on a free port with the data directory of `env`; yield once it answers, then stop it."""
    port = free_port()
    # The server's output goes to a file, never to a pipe nobody reads: it logs a line per request, and once the
    # pipe's buffer was full (about 290 requests) every write blocked, so the server stopped answering midway
    # through a long test and could not even stop (measured: stuck after 287 requests).
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a generous bound for a loaded machine; a crash ends the wait at once
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                output = log_path.read_text(encoding="utf-8", errors="replace")[-8000:]
                raise RuntimeError(f"server did not start (exit {proc.poll()}): {output}") from None
            time.sleep(0.2)
    try:
        yield Server(base, str(data_dir), env, cli)
    finally:
        proc.terminate()  # the server gives open live streams 5 s, then stops (hubbub serve)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        shutil.rmtree(data_dir, ignore_errors=True)
