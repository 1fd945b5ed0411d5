"""Background WAL checkpoints for the embedded SQLite database.

In WAL mode every commit appends the changed pages to the write-ahead log, and by default
the committing connection itself copies the log back into the database file (a
"checkpoint", with an fsync) every 1,000 pages. For the ingest worker that was a third of
the cost of a commit. Instead, a daemon thread with its own connection runs a PASSIVE
checkpoint twice a second: it never blocks the writer, and SQLite releases the GIL while
it copies pages, so the copying runs on another core while the worker keeps ingesting.
Pages rewritten by several batches between two checkpoints are also copied only once.

The connections Django opens keep `wal_autocheckpoint` as a safety net at a higher mark
(see settings), so a process without this thread (the web server) still bounds the log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from django.db import connection

log = logging.getLogger("hubbub.db")

INTERVAL_S = 0.5
_started: set[str] = set()
_lock = threading.Lock()


def database_file() -> str | None:
    """The SQLite file of the default connection, or None (PostgreSQL, in-memory test databases)."""
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or ":memory:" in name or "mode=memory" in name:
        return None
    return name


def ensure_checkpointer() -> bool:
    """Start the checkpoint thread for this process's database once; True if one is running."""
    path = database_file()
    if path is None:
        return False
    with _lock:
        if path in _started:
            return True
        _started.add(path)
    threading.Thread(target=_run, args=(path,), name="hubbub-wal-checkpoint", daemon=True).start()
    return True


def checkpoint(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (busy, frames in the log, frames copied), as SQLite reports them."""
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        return _checkpoint(conn)
    finally:
        conn.close()


def _checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _run(path: str) -> None:
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    while True:
        time.sleep(INTERVAL_S)
        try:
            _checkpoint(conn)
        except sqlite3.Error as exc:  # e.g. the file was removed (tests, benchmarks): stop quietly
            log.debug("WAL checkpoint of %s stopped: %s", path, exc)
            conn.close()
            with _lock:
                _started.discard(path)
            return
