"""`hubbub backup` / `hubbub restore`: what was there comes back, checked, and nothing is overwritten by accident."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from hubbub.ops import backup as core
from tests.conftest import DATA, service_or_skip
from tests.processes import run

COMPARED = ("inbox_message", "inbox_conversation", "ingest_rawevent", "crm_socialprofile")


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return {**env, "HUBBUB_DATA_DIR": str(data_dir), "HUBBUB_SECRET_KEY": "test", "HUBBUB_LOG_LEVEL": "WARNING"}


def _digest(path: Path, table: str) -> str:
    """The contents of a table, row by row, as one checksum."""
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY id'):
            digest.update(repr(row).encode())
    return digest.hexdigest()


class AuditWriter(threading.Thread):
    """Keeps committing audit rows to the live database, as a running server would."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.written = 0
        self.first_rows = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        org_id = conn.execute("SELECT MIN(id) FROM tenancy_organization").fetchone()[0]
        while not self.stop.is_set():
            conn.execute(
                "INSERT INTO tenancy_auditevent (organization_id, verb, target_type, target_id, data, created_at) "
                "VALUES (?, 'test.write', '', '', '{}', datetime('now'))",
                (org_id,),
            )
            self.written += 1
            if self.written >= 20:
                self.first_rows.set()
        conn.close()


def _audit_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM tenancy_auditevent").fetchone()[0])


def test_sqlite_round_trip_while_a_writer_runs(tmp_path: Path) -> None:
    live, fresh, archive = tmp_path / "live", tmp_path / "fresh", tmp_path / "hubbub.tar.gz"
    imported = run(_env(live), "-m", "hubbub", "import", "airline", str(DATA / "airline_sample.csv"), "--brand", "X")
    assert imported.returncode == 0, imported.stderr[-2000:]
    db = live / "hubbub.sqlite3"
    before = _audit_rows(db)

    writer = AuditWriter(db)
    writer.start()
    assert writer.first_rows.wait(60), "the writer never wrote"
    started_with = _audit_rows(db)
    made = run(_env(live), "-m", "hubbub", "backup", str(archive))
    written_during = writer.written
    writer.stop.set()
    writer.join()
    assert made.returncode == 0, made.stderr[-2000:]
    assert "backed up" in made.stderr and "hubbub.sqlite3" in made.stderr

    restored = run(_env(fresh), "-m", "hubbub", "restore", str(archive))
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert "restored the sqlite backup" in restored.stderr and "row counts checked" in restored.stderr

    copy = fresh / "hubbub.sqlite3"
    for table in COMPARED:
        assert _digest(copy, table) == _digest(db, table), table
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM inbox_message").fetchone()[0] > 200
    # the copy is one moment of the running database: after the writer started, before it stopped
    assert before + 20 <= started_with <= _audit_rows(copy) <= before + written_during + 1


def test_restore_refuses_a_database_with_data_unless_forced(tmp_path: Path) -> None:
    source = tmp_path / "a.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [("x",), ("y",)])
    archive = tmp_path / "b.tar.gz"
    core.backup_sqlite({"hubbub.sqlite3": source}, archive)
    migrated_only = tmp_path / "migrated.sqlite3"  # what `hubbub migrate` leaves: no data of anyone's
    with sqlite3.connect(migrated_only) as conn:
        conn.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT)")
        conn.execute("INSERT INTO django_migrations (app) VALUES ('tenancy')")
    assert core.restore_sqlite(archive, {"hubbub.sqlite3": migrated_only}).tables["hubbub.sqlite3"] == {"t": 2}
    target = tmp_path / "target.sqlite3"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE other (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO other DEFAULT VALUES")

    with pytest.raises(core.BackupError, match="already holds data; use --force"):
        core.restore_sqlite(archive, {"hubbub.sqlite3": target})
    manifest = core.restore_sqlite(archive, {"hubbub.sqlite3": target}, force=True)

    assert manifest.tables["hubbub.sqlite3"] == {"t": 2}
    assert core.sqlite_row_counts(target)["t"] == 2


def test_a_damaged_archive_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    import tarfile

    source = tmp_path / "a.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    archive = tmp_path / "b.tar.gz"
    manifest = core.backup_sqlite({"hubbub.sqlite3": source}, archive)
    manifest.checksums["hubbub.sqlite3"] = "0" * 64
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(archive) as tar:
        member = tar.extractfile("hubbub.sqlite3")
        assert member is not None
        (tmp_path / "hubbub.sqlite3").write_bytes(member.read())
    core._write_archive(forged, manifest, [tmp_path / "hubbub.sqlite3"])

    with pytest.raises(core.BackupError, match="does not match its checksum"):
        core.restore_sqlite(forged, {"hubbub.sqlite3": tmp_path / "untouched.sqlite3"})
    assert not (tmp_path / "untouched.sqlite3").exists()


# --- PostgreSQL -----------------------------------------------------------------------------------------------


def _pg_server() -> dict[str, object]:
    url = urlparse(os.environ.get("DATABASE_URL", "") or "postgres://postgres@127.0.0.1:5432/postgres")
    if url.scheme not in {"postgres", "postgresql"}:
        url = urlparse("postgres://postgres@127.0.0.1:5432/postgres")
    service_or_skip("PostgreSQL", url.hostname or "127.0.0.1", url.port or 5432)
    return {"HOST": url.hostname, "PORT": url.port or 5432, "USER": url.username, "PASSWORD": url.password}


@pytest.fixture
def pg_databases():  # type: ignore[no-untyped-def]
    """Two scratch databases (source, target) made for the test and dropped after it."""
    import psycopg

    server = _pg_server()
    names = [f"hubbub_backup_{kind}_{os.getpid()}" for kind in ("src", "dst")]
    admin = psycopg.connect(
        dbname="postgres", host=server["HOST"], port=server["PORT"], user=server["USER"], password=server["PASSWORD"]
    )
    admin.autocommit = True
    for name in names:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [{**server, "NAME": name} for name in names]
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _pg_env(tmp_path: Path, db: dict[str, object]) -> dict[str, str]:
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db["PASSWORD"] else f"{db['USER']}@"
    return {**_env(tmp_path / "data"), "DATABASE_URL": f"postgres://{auth}{db['HOST']}:{db['PORT']}/{db['NAME']}"}


def _pg_digest(db: dict[str, object], table: str) -> str:
    with core._pg_connect(db) as conn:
        rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_postgres_round_trip_into_another_database(pg_databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source, target = pg_databases
    with core._pg_connect(source) as conn:
        conn.execute("CREATE TABLE mention (id bigserial PRIMARY KEY, text text, payload jsonb, at timestamptz)")
        conn.execute(
            "INSERT INTO mention (text, payload, at) SELECT 'mention ' || g, jsonb_build_object('n', g), "
            "now() - g * interval '1 hour' FROM generate_series(1, 500) g"
        )
        conn.execute("CREATE TABLE report (id bigserial PRIMARY KEY, figure numeric)")
        conn.execute("INSERT INTO report (figure) VALUES (1.5), (2.25)")
    archive = tmp_path / "pg.tar.gz"

    made = run(_pg_env(tmp_path, source), "-m", "hubbub", "backup", str(archive))  # the CLI, from DATABASE_URL
    restored = core.restore_postgres(archive, target)

    assert made.returncode == 0, made.stderr[-2000:]
    assert "backed up 502 rows in 2 tables" in made.stderr
    assert restored.total_rows() == 502
    for table in ("mention", "report"):
        assert _pg_digest(target, table) == _pg_digest(source, table)
    with pytest.raises(core.BackupError, match="already holds data"):
        core.restore_postgres(archive, target)
    core.restore_postgres(archive, target, force=True)  # --clean --if-exists replaces what is there
    assert core.pg_row_counts(target) == {"mention": 500, "report": 2}


def test_a_backup_of_nothing_says_so(tmp_path: Path) -> None:
    with pytest.raises(core.BackupError, match="nothing to back up"):
        core.backup_sqlite({"hubbub.sqlite3": tmp_path / "never-made.sqlite3"}, tmp_path / "b.tar.gz")
    assert not (tmp_path / "b.tar.gz").exists()


# --- the Reports after a restore ------------------------------------------------------------------------------

#: Run in the restored data directory: each organisation's Volume and Response times from the rollups (the days
#: the restore marked are derived), again after the periodic task's rebuild, and computed from the rows.
_REPORTS_AFTER_RESTORE = """
import json, sys
from datetime import date
import django
django.setup()
from hubbub.insights import reports, rollups
from hubbub.insights.reports import Filters
from hubbub.insights.rollup_read import direct
from hubbub.insights.tasks import rebuild_marked_report_days
from hubbub.tenancy.models import Organization
from hubbub.tenancy.scoping import system_scope

f = Filters(start=date.fromisoformat(sys.argv[1]), end=date.fromisoformat(sys.argv[2]))
def figures(org_id):
    scope = system_scope(org_id)
    times = reports.response_times(scope, f)
    return {"volume": reports.volume(scope, f), "conversations": times["total"]["conversations"]}
orgs = list(Organization.objects.values_list("id", flat=True))
out = {"dirty": sum(len(rollups.dirty_days(o, f.start, f.end)) for o in orgs)}
out["derived"] = [figures(o) for o in orgs]
while rebuild_marked_report_days.call_local():
    pass
out["left_dirty"] = sum(len(rollups.dirty_days(o, f.start, f.end)) for o in orgs)
out["rebuilt"] = [figures(o) for o in orgs]
with direct():
    out["direct"] = [figures(o) for o in orgs]
print(json.dumps(out))
"""


def _sql(engine: str, where: Any, statement: str) -> list[tuple[Any, ...]]:
    if engine == "sqlite":
        with sqlite3.connect(where) as conn:
            return list(conn.execute(statement).fetchall())
    with core._pg_connect(where) as conn:
        return list(conn.execute(statement).fetchall())


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_after_a_restore_the_reports_equal_the_restored_rows(engine: str, tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    """A backup is taken while Hubbub runs, so it can hold a change whose report day was not marked yet (the mark
    is written after the change commits): the restore marks every day, and the Reports follow the rows."""
    archive = tmp_path / "hubbub.tar.gz"
    if engine == "sqlite":
        live, fresh = _env(tmp_path / "live"), _env(tmp_path / "fresh")
        where: Any = tmp_path / "live" / "hubbub.sqlite3"
    else:
        source, target = request.getfixturevalue("pg_databases")
        live, fresh, where = _pg_env(tmp_path, source), _pg_env(tmp_path, target), source
    for step in (["migrate"], ["import", "airline", str(DATA / "airline_sample.csv"), "--brand", "X"]):
        done = run(live, "-m", "hubbub", *step, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    first, last = (
        str(at)[:10] for at in _sql(engine, where, "SELECT MIN(created_at), MAX(created_at) FROM inbox_message")[0]
    )
    built = run(live, "-m", "hubbub", "report", "rebuild", "--from", first, "--to", last)
    assert built.returncode == 0, built.stderr[-2000:]
    # the moment the backup catches: labels changed and committed, their days' marks not written yet
    _sql(engine, where, "UPDATE inbox_message SET sentiment = 'negative' WHERE direction = 'in' RETURNING id")
    assert run(live, "-m", "hubbub", "backup", str(archive)).returncode == 0

    restored = run(fresh, "-m", "hubbub", "restore", str(archive))

    assert restored.returncode == 0, restored.stderr[-2000:]
    assert "report days marked to be rebuilt" in restored.stderr
    checked = run(fresh, "-c", _REPORTS_AFTER_RESTORE, first, last, timeout=300)
    assert checked.returncode == 0, checked.stderr[-2000:]
    figures = json.loads(checked.stdout.strip().splitlines()[-1])
    assert figures["dirty"] > 0 and figures["left_dirty"] == 0
    assert figures["derived"] == figures["direct"] == figures["rebuilt"]
    assert figures["direct"][0]["volume"]["total"]["negative"] == figures["direct"][0]["volume"]["total"]["messages"]
