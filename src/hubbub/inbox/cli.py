"""`hubbub analysis reanalyze`: re-label stored messages with the current model.

The command sits beside the engine's commands (`hubbub analysis …`), but it rewrites the inbox's messages, so
it lives in the inbox; the project's CLI (`hubbub.cli`) mounts it on the analysis command group. Django is
set up only when the command runs, so importing this module stays cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hubbub.analysis.services import get_analyzer

_err = Console(stderr=True)


def _django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()


def _parse_since(since: str) -> datetime:
    try:
        when = datetime.fromisoformat(since)
    except ValueError:
        _err.print(f"[red]error:[/red] --since must be a date like 2026-11-01, not {since!r}")
        raise typer.Exit(code=2) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _org_id(org: str | None) -> int | None:
    # models: importable once the command has set Django up
    from hubbub.tenancy.models import Organization

    if not org:
        return None
    found = Organization.objects.filter(slug=org).first()
    if found is None:
        _err.print(f"[red]error:[/red] no organisation with slug {org!r}")
        raise typer.Exit(code=2)
    return found.pk


def reanalyze_command(
    since: Annotated[str, typer.Option("--since", help="Re-label inbound messages created on/after this date.")],
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation (slug).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=10, max=20000)] = 1000,
) -> None:
    """Re-label stored messages with the current model (bulk updates; agents' corrections are kept)."""
    when = _parse_since(since)
    _django()
    from hubbub.inbox.reanalysis import reanalyze  # models: once Django is set up

    org_id = _org_id(org)
    analyzer = get_analyzer()
    with Progress(
        TextColumn("re-analysing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=_err
    ) as progress:
        task = progress.add_task("reanalyze", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = reanalyze(when, org_id, batch_size=batch_size, progress=tick, analyzer=analyzer)
    _err.print(
        f"re-labelled {result.messages} message(s) in {result.conversations} conversation(s) with "
        f"{result.model_version}; kept {result.kept_corrections} agent correction(s)"
    )
