"""Private PostgreSQL and Redis servers for the fault tests: a throw-away cluster and a redis-server on free
ports in a temporary directory, which the tests stop, restart and kill at will. The machine's own servers
(5432, 6379) are shared with other tests and people and are never touched.

A missing binary skips the tests on a laptop and fails them under HUBBUB_REQUIRE_SERVICES=1 (CI), naming it.
PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user (`runuser`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import pytest

from tests.browser_server import free_port
from tests.conftest import REQUIRE_SERVICES

#: A bound for a loaded machine to start or stop a server, not a measure.
START_DEADLINE = 60


def missing(binary: str) -> NoReturn:
    message = f"fault tests need {binary}, which is not installed"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (HUBBUB_REQUIRE_SERVICES=1 makes it mandatory)")
    pytest.skip(message)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        missing("/usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
    return Path(found[-1]).parent


class PrivatePostgres:
    """One cluster: `initdb` once, then `start`, `stop` (fast: clients are cut, as in a restart) and `url`."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="hubbub-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                missing("a 'postgres' user to run PostgreSQL as (tests run as root)")
            if not shutil.which("runuser"):
                missing("runuser")
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self._as, str(self.bin / tool), *args], capture_output=True, text=True, timeout=START_DEADLINE
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back and every client is cut, as in a restart."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def close(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server with an append-only file (as a production queue should run: a stop keeps its tasks)."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server") or missing("redis-server (apt-get install redis-server)")
        self.root = Path(tempfile.mkdtemp(prefix="hubbub-faults-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"]
        args += ["--appendfsync", "everysec", "--dir", str(self.root), "--daemonize", "no"]
        with open(self.root / "server.log", "ab") as log:
            self.proc = subprocess.Popen([str(self.binary), *args], stdout=log, stderr=subprocess.STDOUT)
        import redis

        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.RedisError as exc:
                if self.proc.poll() is not None:
                    log = (self.root / "server.log").read_text()[-1500:]
                    raise RuntimeError(f"redis-server exited: {log}") from exc
                time.sleep(0.1)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits; clients get refused connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=START_DEADLINE)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
