"""`hubbub channels list|check|poll`: the connected channels, their health, a poll now.

For the operator at the shell (who can read the database anyway), so it spans organisations unless `--org`
narrows it. Polling goes through the same loop as the periodic task (`ingest.channel_intake`), so the cursor
and health it leaves are the ones the workers continue from. It lives in ingest because a poll ends in
ingest's `accept`; the project's CLI (`hubbub.cli`) mounts it. Django is set up only when a command runs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hubbub.connectors.base import ChannelError, connector_for

channels_app = typer.Typer(help="Connected channels: health, a connection test, a poll now.", no_args_is_help=True)
_err = Console(stderr=True)


def _django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()


def _channels(org: str | None) -> Any:
    # models: importable once the command has set Django up
    from hubbub.connectors.models import Channel

    qs = Channel.objects.select_related("brand", "organization").order_by("organization__slug", "brand__name", "id")
    return qs.filter(organization__slug=org) if org else qs


def _one(channel_id: int) -> Any:
    # models: importable once the command has set Django up
    from hubbub.connectors.models import Channel

    channel = Channel.objects.select_related("brand").filter(pk=channel_id).first()
    if channel is None:
        _err.print(f"[red]error:[/red] no channel {channel_id}; `hubbub channels list` shows them.")
        raise typer.Exit(code=2)
    return channel


def _row(channel: Any, now: Any) -> dict[str, Any]:
    lag = channel.lag_seconds(now)
    return {
        "id": channel.pk,
        "organization": channel.organization.slug,
        "brand": channel.brand.slug,
        "network": channel.network,
        "name": channel.name,
        "active": channel.is_active,
        "status": channel.status,
        "last_event_at": channel.last_event_at.isoformat() if channel.last_event_at else None,
        "lag_seconds": round(lag) if lag is not None else None,
        "last_error": channel.last_error,
        "rate_limit_remaining": channel.rate_limit_remaining,
        "next_poll_at": channel.next_poll_at.isoformat() if channel.next_poll_at else None,
    }


@channels_app.command("list")
def list_channels(
    org: Annotated[str | None, typer.Option(help="Only this organisation (slug)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line")] = False,
) -> None:
    """Every channel with its health."""
    _django()
    from django.utils import timezone

    now = timezone.now()
    rows = [_row(c, now) for c in _channels(org)]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    if not rows:
        _err.print("No channels yet. An admin connects one on Settings → Channels.")
        return
    table = Table("id", "org", "brand", "network", "name", "status", "last event", "lag", "budget", "last error")
    for r in rows:
        status = r["status"] if r["active"] else "disconnected"
        lag = "–" if r["lag_seconds"] is None else f"{r['lag_seconds']} s"
        budget = "–" if r["rate_limit_remaining"] is None else str(r["rate_limit_remaining"])
        event = r["last_event_at"] or "–"
        table.add_row(
            str(r["id"]), r["organization"], r["brand"], r["network"], r["name"], status, event, lag, budget,
            r["last_error"],
        )  # fmt: skip
    Console().print(table)


@channels_app.command("check")
def check(channel_id: Annotated[int, typer.Argument(help="The channel's id (see `list`)")]) -> None:
    """Test the channel's credentials against its network; exit 1 with the reason when they fail."""
    _django()
    channel = _one(channel_id)
    connector = connector_for(channel.network)
    if connector is None:
        _err.print(f"[red]error:[/red] {channel.network} channels are imported from files, not connected.")
        raise typer.Exit(code=1)
    try:
        typer.echo(f"{channel}: works ({connector.check(channel)})")
    except ChannelError as exc:
        _err.print(f"[red]{channel}: {exc.reason}[/red]")
        raise typer.Exit(code=1) from None


@channels_app.command("poll")
def poll(
    channel_id: Annotated[int | None, typer.Argument(help="One channel; without it, every due channel")] = None,
) -> None:
    """Poll now, store what is new and process it; exit 1 if a poll failed (the reason is printed)."""
    _django()
    # models: importable once the command has set Django up
    from hubbub.ingest.channel_intake import poll_channel_now, poll_due_channels
    from hubbub.ingest.services import process_pending

    outcomes = [poll_channel_now(_one(channel_id))] if channel_id is not None else poll_due_channels()
    process_pending()
    for o in outcomes:
        line = (
            f"channel {o.channel_id}: {o.events} fetched, {o.new} new" if o.ok else f"channel {o.channel_id}: {o.error}"
        )
        typer.echo(line)
    if not outcomes:
        typer.echo("No channel was due for a poll.")
    if any(not o.ok for o in outcomes):
        raise typer.Exit(code=1)
