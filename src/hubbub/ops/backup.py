"""`hubbub backup` / `hubbub restore`: one archive holding the whole state, checked on the way back.

An archive is a tar with `manifest.json` (format, engine, the SHA-256 of every member, the row count of every
table) and the data: on embedded SQLite a copy of each database file Hubbub keeps in `HUBBUB_DATA_DIR` (the main
database and the task queue), made with SQLite's online backup API so it is consistent while the server writes;
on PostgreSQL a `pg_dump -Fc` taken in the same snapshot as the row counts. A restore checks the checksums before
it touches anything, refuses a database that holds rows unless forced, and compares the row counts after, so
"restored" means the data that was backed up is there, not only that a command exited 0.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
PG_DUMP_MEMBER = "postgres.dump"


#: Tables `hubbub migrate` fills by itself: a freshly migrated database holding only these counts as empty.
BOOKKEEPING = frozenset({"django_migrations", "django_content_type", "auth_permission", "django_site"})


def holds_data(counts: Mapping[str, int]) -> bool:
    return any(n for table, n in counts.items() if table not in BOOKKEEPING)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Manifest:
    engine: str  # "sqlite" or "postgresql"
    created_at: str
    checksums: dict[str, str] = field(default_factory=dict)  # archive member -> sha256
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # member -> table -> rows

    def to_json(self) -> bytes:
        return json.dumps({"format": 1, **self.__dict__}, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if data.get("format") != 1:
            raise BackupError(f"unknown backup format {data.get('format')!r}: made by a newer Hubbub?")
        return cls(data["engine"], data["created_at"], data["checksums"], data["tables"])

    def total_rows(self) -> int:
        return sum(n for tables in self.tables.values() for n in tables.values())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- SQLite ---------------------------------------------------------------------------------------------------


def sqlite_row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in sorted(names)}


def _sqlite_copy(source: Path, target: Path) -> None:
    """The online backup API: pages are copied while other connections write, and the copy is one snapshot.

    All pages go in one step (no `pages=`/progress callback): a step-wise copy restarts whenever another
    connection writes between steps, so under steady ingest it would never finish."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def backup_sqlite(files: Mapping[str, Path], out: Path) -> Manifest:
    """Archive the SQLite files (member name -> live path); missing ones (no task queue yet) are left out."""
    manifest = Manifest("sqlite", _now())
    with tempfile.TemporaryDirectory(prefix="hubbub-backup-") as tmp:
        members = []
        for name, live in files.items():
            if not live.exists():
                continue
            copy = Path(tmp) / name
            _sqlite_copy(live, copy)
            manifest.checksums[name] = sha256_of(copy)
            manifest.tables[name] = sqlite_row_counts(copy)
            members.append(copy)
        if not members:
            raise BackupError(f"nothing to back up: {', '.join(str(p) for p in files.values())} do not exist")
        _write_archive(out, manifest, members)
    return manifest


def restore_sqlite(archive: Path, files: Mapping[str, Path], force: bool = False) -> Manifest:
    """Put the archived files in place of `files` (server stopped), then check every table's row count."""
    with tempfile.TemporaryDirectory(prefix="hubbub-restore-") as tmp:
        manifest = _extract(archive, Path(tmp), "sqlite")
        unknown = set(manifest.checksums) - set(files)
        if unknown:
            raise BackupError(f"the archive holds {sorted(unknown)}, which this Hubbub does not use")
        if not force:
            for name in manifest.checksums:
                if files[name].exists() and holds_data(sqlite_row_counts(files[name])):
                    raise BackupError(f"{files[name]} already holds data; use --force to replace it")
        for name in manifest.checksums:
            files[name].parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(Path(tmp) / name, files[name])  # through SQLite, so a stale -wal file cannot win
    for name in manifest.checksums:
        _verify_counts(name, manifest.tables[name], sqlite_row_counts(files[name]))
    return manifest


# --- PostgreSQL -----------------------------------------------------------------------------------------------


def pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on PATH: install the PostgreSQL client tools (postgresql-client)")
    return found


def pg_env(db: Mapping[str, Any]) -> dict[str, str]:
    """libpq's environment for Django's connection settings: the password never appears on a command line."""
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    env["PGDATABASE"] = str(db["NAME"])
    return env


def _pg_connect(db: Mapping[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=db["NAME"],
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
    )


def _pg_counts(cur: Any) -> dict[str, int]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    names = [r[0] for r in cur.fetchall()]
    counts = {}
    for name in names:
        cur.execute(f'SELECT COUNT(*) FROM "{name}"')
        counts[name] = cur.fetchone()[0]
    return counts


def pg_row_counts(db: Mapping[str, Any]) -> dict[str, int]:
    with _pg_connect(db) as conn, conn.cursor() as cur:
        return _pg_counts(cur)


def backup_postgres(db: Mapping[str, Any], out: Path) -> Manifest:
    """`pg_dump -Fc` of the snapshot the row counts were read in, so the manifest describes the dump exactly."""
    dump = pg_binary("pg_dump")
    manifest = Manifest("postgresql", _now())
    with tempfile.TemporaryDirectory(prefix="hubbub-backup-") as tmp, _pg_connect(db) as conn:
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            manifest.tables[PG_DUMP_MEMBER] = _pg_counts(cur)
            path = Path(tmp) / PG_DUMP_MEMBER
            cmd = [dump, "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(path)]
            _run(cmd, pg_env(db), "pg_dump")
        conn.rollback()
        manifest.checksums[PG_DUMP_MEMBER] = sha256_of(path)
        _write_archive(out, manifest, [path])
    return manifest


def restore_postgres(archive: Path, db: Mapping[str, Any], force: bool = False) -> Manifest:
    restore = pg_binary("pg_restore")
    with tempfile.TemporaryDirectory(prefix="hubbub-restore-") as tmp:
        manifest = _extract(archive, Path(tmp), "postgresql")
        if not force and holds_data(pg_row_counts(db)):
            raise BackupError(f"database {db['NAME']} already holds data; use --force to replace it")
        cmd = [restore, "--clean", "--if-exists", "--no-owner", "-d", str(db["NAME"]), str(Path(tmp) / PG_DUMP_MEMBER)]
        _run(cmd, pg_env(db), "pg_restore")
    _verify_counts(str(db["NAME"]), manifest.tables[PG_DUMP_MEMBER], pg_row_counts(db))
    return manifest


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


# --- the archive ----------------------------------------------------------------------------------------------


def _write_archive(out: Path, manifest: Manifest, members: list[Path]) -> None:
    """Written beside the target and renamed, so a failed backup never leaves a half archive under its name."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for path in members:
            tar.add(path, arcname=path.name)
    partial.replace(out)


def _extract(archive: Path, into: Path, engine: str) -> Manifest:
    if not archive.is_file():
        raise BackupError(f"{archive}: no such backup file")
    try:
        with tarfile.open(archive, "r:*") as tar:
            manifest_file = tar.extractfile(MANIFEST)
            if manifest_file is None:
                raise BackupError(f"{archive} has no {MANIFEST}: not a Hubbub backup")
            manifest = Manifest.from_json(manifest_file.read())
            tar.extractall(into, members=[tar.getmember(name) for name in manifest.checksums], filter="data")
    except (tarfile.TarError, KeyError) as exc:
        raise BackupError(f"{archive} is not a readable Hubbub backup: {exc}") from exc
    if manifest.engine != engine:
        raise BackupError(f"{archive} is a {manifest.engine} backup; this Hubbub runs on {engine}")
    for name, expected in manifest.checksums.items():
        if sha256_of(into / name) != expected:
            raise BackupError(f"{archive}: {name} does not match its checksum; the file is damaged")
    return manifest


def _verify_counts(where: str, expected: dict[str, int], actual: dict[str, int]) -> None:
    wrong = {t: (n, actual.get(t)) for t, n in expected.items() if actual.get(t) != n}
    if wrong:
        detail = ", ".join(f"{t}: {n} expected, {got} found" for t, (n, got) in sorted(wrong.items())[:10])
        raise BackupError(f"restored {where} does not match the backup: {detail}")
