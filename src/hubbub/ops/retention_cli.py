"""`hubbub retention show|set|run`: an operator's way to see, change and apply raw event retention."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hubbub.ops.backup_cli import setup_django

retention_app = typer.Typer(help="How long raw mentions are kept, per organisation", no_args_is_help=True)
console = Console(stderr=True)


def _org(slug: str):  # type: ignore[no-untyped-def]
    # models: importable once the command has set Django up
    from hubbub.tenancy.models import Organization

    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        console.print(f"no organisation with the slug {slug!r}", style="red", markup=False)
        raise typer.Exit(1)
    return org


@retention_app.command("show")
def show() -> None:
    """Each organisation's retention."""
    setup_django()
    # models: importable once the command has set Django up
    from hubbub.tenancy.models import Organization

    table = Table("organisation", "raw mentions kept")
    for org in Organization.objects.order_by("slug"):
        table.add_row(org.slug, f"{org.raw_retention_days} days" if org.raw_retention_days else "forever")
    Console().print(table)


@retention_app.command("set")
def set_(
    days: Annotated[int, typer.Argument(min=0, help="Days to keep raw mentions; 0 keeps them forever")],
    org: Annotated[str, typer.Option(help="Organisation slug")],
) -> None:
    """Change an organisation's retention (audited); the nightly job applies it, `run` applies it now."""
    setup_django()
    # models: importable once the command has set Django up
    from hubbub.ops.retention import set_retention

    set_retention(_org(org), days)
    console.print(f"{org}: raw mentions kept " + (f"{days} days" if days else "forever"))


@retention_app.command("run")
def run() -> None:
    """Prune now what the nightly job would prune."""
    setup_django()
    # models: importable once the command has set Django up
    from hubbub.ops.retention import prune_organization
    from hubbub.tenancy.models import Organization

    orgs = list(Organization.objects.filter(raw_retention_days__gt=0).order_by("slug"))
    with console.status("pruning…") as status:
        for org in orgs:
            status.update(f"pruning {org.slug}…")
            pruned = prune_organization(org)
            console.print(
                f"{org.slug}: {pruned.raw_events:,} raw events pruned, "
                f"{pruned.quarantine_entries:,} quarantine entries deleted"
            )
    if not orgs:
        console.print("no organisation has a retention set (hubbub retention set DAYS --org SLUG)")
