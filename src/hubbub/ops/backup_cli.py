"""`hubbub backup FILE` and `hubbub restore FILE`: the Django shell around `ops.backup`.

It decides from the settings which engine runs and which files embedded mode keeps, so the archive logic stays
testable with plain paths and connection settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hubbub.ops import backup as core

console = Console(stderr=True)


def setup_django() -> None:
    """Django, set up on first use, so `hubbub --help` stays fast."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    django.setup()


def sqlite_files() -> dict[str, Path]:
    """Every SQLite file of `HUBBUB_DATA_DIR` worth keeping: the database and, embedded, the task queue."""
    from django.conf import settings

    files = {"hubbub.sqlite3": Path(settings.DATABASES["default"]["NAME"])}
    if settings.HUEY.get("huey_class") == "huey.SqliteHuey":
        files["tasks.sqlite3"] = Path(str(settings.HUEY["filename"]))
    return files


def _engine() -> str:
    from django.conf import settings

    vendor = settings.DATABASES["default"]["ENGINE"]
    if vendor.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in vendor:
        return "postgresql"
    raise core.BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")


def _guarded(what: str, status: str, work: Callable[[], core.Manifest]) -> core.Manifest:
    """Run the work under a spinner; a refusal or failure is one red line saying why, and exit status 1."""
    try:
        with console.status(status):
            return work()
    except core.BackupError as exc:
        console.print(f"{what} failed: {exc}", style="red", markup=False)
        raise typer.Exit(1) from exc


def backup(file: Annotated[Path, typer.Argument(help="The archive to write (a .tar.gz)")]) -> None:
    """Write a consistent backup of the whole database (and the embedded task queue) while Hubbub runs."""
    setup_django()
    from django.conf import settings

    def work() -> core.Manifest:
        if _engine() == "sqlite":
            return core.backup_sqlite(sqlite_files(), file)
        return core.backup_postgres(settings.DATABASES["default"], file)

    manifest = _guarded("backup", f"backing up to {file}…", work)
    console.print(
        f"[green]backed up[/] {manifest.total_rows():,} rows in "
        f"{sum(len(t) for t in manifest.tables.values())} tables ({', '.join(manifest.checksums)}) to {file}"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="An archive written by `hubbub backup`")],
    force: Annotated[bool, typer.Option(help="Replace a database that already holds data")] = False,
) -> None:
    """Restore a backup (stop the web and worker processes first), then check every table's row count."""
    setup_django()
    from django.conf import settings

    def work() -> core.Manifest:
        if _engine() == "sqlite":
            return core.restore_sqlite(file, sqlite_files(), force=force)
        return core.restore_postgres(file, settings.DATABASES["default"], force=force)

    manifest = _guarded("restore", f"restoring {file}…", work)
    console.print(
        f"[green]restored[/] the {manifest.engine} backup of {manifest.created_at}: {manifest.total_rows():,} rows in "
        f"{sum(len(t) for t in manifest.tables.values())} tables ({', '.join(manifest.checksums)}), row counts "
        "checked."
    )
    _after_restore()


def _schema_is_current() -> bool:
    """Whether the restored database has every migration of this release applied."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def _after_restore() -> None:
    """The Reports' daily rollups are restored with the rows, but a backup is taken while Hubbub runs: its
    moment can fall between a change's commit and the mark of its report day (written after the commit),
    which would leave that day's rollups stale for good. Every day is marked; the worker rebuilds them and
    the Reports derive them from the rows meanwhile (`insights.rollups`)."""
    if not _schema_is_current():
        console.print(
            "The backup predates this release: run `hubbub migrate`, then `hubbub report rebuild` "
            "(the Reports' daily rollups of every day)."
        )
        return
    from hubbub.insights.rollups import mark_everything  # ops sits above every app; Django is set up now

    days = mark_everything()
    console.print(f"{days:,} report days marked to be rebuilt from the restored rows (the worker does it).")
