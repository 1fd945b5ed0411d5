"""The background WAL checkpoint of the embedded database (hubbub/sqlite_wal.py)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from hubbub import sqlite_wal


def _wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as if nobody checkpointed: the log only grows
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 500,) for _ in range(2000)])
    return conn


def test_a_checkpoint_copies_the_whole_log_back(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    writer = _wal_db(db)
    busy, in_log, copied = sqlite_wal.checkpoint(str(db))
    assert busy == 0 and in_log > 100 and copied == in_log
    # the data is in the database file itself now: a reader without the log sees it
    writer.close()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone()[0] == 2000


def test_the_thread_keeps_the_log_checkpointed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "db.sqlite3"
    writer = _wal_db(db)
    monkeypatch.setattr(sqlite_wal, "database_file", lambda: str(db))
    monkeypatch.setattr(sqlite_wal, "INTERVAL_S", 0.05)
    assert sqlite_wal.ensure_checkpointer()
    assert sqlite_wal.ensure_checkpointer()  # once per database file
    before = db.stat().st_size  # everything written so far sits in the log, not in the file
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and db.stat().st_size < 500_000:
        time.sleep(0.05)
    assert before < 100_000 <= 500_000 <= db.stat().st_size  # the thread copied the rows into the file
    writer.close()


@pytest.mark.django_db
def test_no_thread_for_databases_without_a_file() -> None:
    from django.db import connection

    if connection.vendor == "sqlite":
        assert sqlite_wal.database_file() is None  # the test database lives in memory
    assert sqlite_wal.ensure_checkpointer() is False
