"""The `hubbub` command line. Django is set up lazily so `classify` and `listen backtest` start fast.

So what needs Django set up (models, the modules that import them, auth's validators) is imported inside
the commands, after `_django()`: at module level it would fail before the set-up. The rest is imported here.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hubbub.analysis.cli import analysis_app, classify
from hubbub.inbox.cli import reanalyze_command
from hubbub.ingest.channels_cli import channels_app
from hubbub.listening.cli import listen_app
from hubbub.ops.backup_cli import backup, restore
from hubbub.ops.retention_cli import retention_app
from hubbub.runtime import prepare_multiprocess_metrics, start_email_watchers, warm_up_worker

app = typer.Typer(
    help="Hubbub: one inbox for every brand on every network.", no_args_is_help=True, add_completion=False
)
console = Console(stderr=True)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()


def _migrate(verbose: bool = False) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if verbose else 0)


def _pick_org(org: str | None) -> Any:
    from hubbub.tenancy.models import Organization

    if org:
        found = Organization.objects.filter(slug=org).first()
        if found is None:
            found, _ = Organization.objects.get_or_create(slug=org, defaults={"name": org})
        return found
    found = Organization.objects.order_by("id").first()
    if found is None:
        found = Organization.objects.create(slug="default", name="Default organisation")
    return found


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    _django()
    _migrate(verbose=True)


class ImportFormat(StrEnum):
    airline = "airline"
    twcs = "twcs"
    jsonl = "jsonl"
    customers = "customers"
    orders = "orders"
    mapping = "mapping"
    surveys = "surveys"


@app.command("import")
def import_(
    fmt: Annotated[ImportFormat, typer.Argument(metavar="FORMAT", help="airline | twcs | jsonl | customers | ...")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    brand: Annotated[str, typer.Option(help="Put every row on this brand (created if missing)")] = "",
    org: Annotated[str | None, typer.Option(help="Organisation slug (default: the first one)")] = None,
    enqueue: Annotated[bool, typer.Option(help="Leave processing to a running worker")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="CRM column mapping field=Column, e.g. email=E-mail,name=Full Name"),
    ] = None,
    scale: Annotated[
        str, typer.Option(help="surveys: csat, nps or MIN-MAX (default: read from the score column)")
    ] = "",
) -> None:
    """Import a file through the ingest pipeline; re-running adds nothing twice."""
    _django()
    _migrate()
    organization = _pick_org(org)
    if fmt.value == "surveys":
        from hubbub.insights import importing as survey_importing

        try:
            with console.status(f"importing {file.name}…") as status:
                summary_dict = survey_importing.run(
                    organization.pk,
                    file,
                    brand=brand,
                    scale=scale,
                    on_progress=lambda done, _total: status.update(f"importing {file.name}: {done:,} rows"),
                )
        except ValueError as exc:  # no score/date column, a bad --scale: say so, no traceback
            console.print(str(exc), style="red", markup=False)
            raise typer.Exit(1) from exc
    elif fmt.value in {"customers", "orders", "mapping"}:
        from hubbub.crm import importing as crm_importing

        with console.status(f"importing {file.name}…") as status:
            summary_dict = crm_importing.run(
                organization.pk,
                fmt.value,
                file,
                mapping=crm_importing.parse_mapping(map_ or []),
                on_progress=lambda done, _total: status.update(f"importing {file.name}: {done:,} rows"),
            )
    else:
        from hubbub.ingest.importing import run_import

        if not enqueue:
            warm_up_worker()
        with Progress(
            TextColumn("[bold]importing {task.fields[name]}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("import", total=None, name=file.name)
            summary = run_import(
                organization.pk,
                fmt.value,
                file,
                brand=brand,
                process=not enqueue,
                on_progress=lambda done, _total: progress.update(task, completed=done),
            )
        summary_dict = summary.summary()
    if as_json:
        typer.echo(json.dumps(summary_dict))
    else:
        console.print(
            f"[green]imported {summary_dict['imported']:,}[/]  duplicates {summary_dict['duplicates']:,}  "
            f"[red]rejected {summary_dict['rejected']:,}[/] (quarantined, see Settings → Quarantine)"
        )
        if summary_dict.get("unknown_columns"):
            console.print(f"[yellow]ignored unknown columns:[/] {', '.join(summary_dict['unknown_columns'])}")
        for reason, n in sorted(summary_dict.get("rejection_reasons", {}).items(), key=lambda kv: -kv[1])[:8]:
            console.print(f"  {n:>6,} × {reason}")


def _start_worker(workers: int = 2) -> Callable[[], None]:
    """Run the Huey consumer and the email IDLE watchers inside this process (threads) next to the web server;
    returns what stops them."""
    from django.conf import settings
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # as `run_huey` does: registers every app's (periodic) tasks
    consumer = HUEY.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        max_delay=settings.TASK_POLL_MAX_SECONDS,  # as `run_huey` has it (HUEY["consumer"])
    )
    consumer._set_signal_handlers = lambda: None  # uvicorn owns the signals
    watchers: list[Any] = []

    def warm_up_then_consume() -> None:
        warm_up_worker()
        consumer.start()
        watchers.append(start_email_watchers())

    def stop() -> None:
        for started in watchers:
            if started is not None:
                started.close()  # releases the leases: another process takes the channels over at once
        consumer.stop(graceful=False)

    # The web server answers at once; the worker warms up its models beside it (on a busy machine that takes
    # long enough that waiting for it kept the UI, and its health check, unreachable).
    threading.Thread(target=warm_up_then_consume, name="hubbub-worker-start", daemon=True).start()
    return stop


def _serve(host: str, port: int, with_worker: bool, processes: int = 1) -> None:
    import uvicorn

    stop_worker = _start_worker() if with_worker else None
    try:
        # open live streams (SSE) never end on their own: give them a few seconds, then stop anyway
        uvicorn.run(
            "hubbub.asgi:application",
            host=host,
            port=port,
            workers=processes if processes > 1 else None,
            log_level="warning",
            log_config=None,  # its loggers write through Django's LOGGING: one JSON object per line
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
    finally:
        if stop_worker is not None:
            stop_worker()


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    worker: Annotated[bool, typer.Option(help="Also run the task worker in this process")] = True,
    workers: Annotated[int, typer.Option(min=1, help="Web server processes (needs --no-worker when above 1)")] = 1,
) -> None:
    """Serve the web UI and API (and, by default, the task worker)."""
    if workers > 1 and worker:
        # each process would run its own consumer and in-process live bus: run `hubbub worker` beside them
        raise typer.BadParameter("--workers above 1 needs --no-worker; run `hubbub worker` for the tasks")
    if workers > 1:
        prepare_multiprocess_metrics()
    _django()
    _migrate()
    console.print(f"Hubbub on http://{host}:{port}" + (f" ({workers} processes)" if workers > 1 else ""))
    _serve(host, port, worker, workers)


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", "--workers", min=1, help="Consumer threads taking tasks in parallel")
    ] = 2,
) -> None:
    """Run the task worker (ingest batches, replies, SLA clocks, detectors)."""
    _django()
    from django.core.management import call_command

    warm_up_worker()
    watchers = start_email_watchers()
    try:
        call_command("run_huey", workers=concurrency, worker_type="thread")
    finally:
        if watchers is not None:
            watchers.close()  # releases the leases: another process takes the channels over at once


@app.command()
def demo(
    serve_ui: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the UI after loading")] = True,
    speed: Annotated[float, typer.Option(help="Replay speed: 360 plays a day of tweets in 4 minutes")] = 360.0,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Load real airline tweets into an agency with six brands and serve the inbox."""
    started = time.monotonic()
    from hubbub import demo_sandbox

    sandbox = demo_sandbox.start_server() if serve_ui else None  # before Django: its address joins the allow-list
    _django()
    console.print("[bold]Hubbub demo[/] — preparing the embedded database…")
    _migrate()
    from hubbub import demo as demo_mod

    warm_up_worker()
    with console.status("importing real tweets (history) through the pipeline…"):
        setup = demo_mod.prepare(live=serve_ui)
    ready = time.monotonic() - started
    from hubbub.inbox.models import Conversation

    console.print(
        f"[green]ready in {ready:.1f}s[/]: {Conversation.objects.count():,} conversations, "
        f"{demo_mod.brand_count(setup.organization)} airline brands"
    )
    console.print(
        "Log in as [bold]admin[/], [bold]supervisor[/], [bold]agent[/] or [bold]analyst[/] "
        f"with password [bold]{setup.password}[/]"
    )
    typer.echo(json.dumps({"demo_ready_s": round(ready, 2), "login": "admin", "password": setup.password}))
    if not serve_ui:
        return
    stop = threading.Event()
    if sandbox is not None:
        demo_sandbox.connect_brand(sandbox, setup.organization.pk)
        threading.Thread(target=demo_sandbox.keep_polling, args=(sandbox, stop), daemon=True).start()
        console.print(
            f"Mastodon sandbox: {sandbox.fake.url} — post there as a customer mentioning @{sandbox.handle}; "
            "it reaches the inbox in seconds, and replies sent from the inbox appear threaded under it."
        )
    replayer = threading.Thread(
        target=demo_mod.replay, args=(setup.organization.pk, setup.live_events, speed, stop), daemon=True
    )
    console.print(f"Live replay of {len(setup.live_events):,} more tweets at {speed:g}× — http://{host}:{port}")
    replayer.start()
    try:
        _serve(host, port, with_worker=True)
    finally:
        stop.set()


user_app = typer.Typer(help="Users and roles", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | supervisor | agent | analyst")] = "agent",
    org: Annotated[str | None, typer.Option(help="Organisation slug (created if missing)")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create (or update) a user and their membership with a role."""
    _django()
    _migrate()
    from django.contrib.auth import get_user_model

    from hubbub.accounts.passwords import password_problems
    from hubbub.tenancy.models import Membership, Role

    if role not in Role.values:
        raise typer.BadParameter(f"role must be one of {', '.join(Role.values)}")
    User = get_user_model()
    user = User.objects.filter(username=username).first() or User(username=username)
    problems = password_problems(password, user)
    if problems:
        raise typer.BadParameter(" ".join(problems), param_hint="--password")
    organization = _pick_org(org)
    user.set_password(password)
    user.is_staff = role == Role.ADMIN
    user.save()
    Membership.objects.update_or_create(user=user, organization=organization, defaults={"role": role})
    console.print(f"{username} is {role} of {organization.name}")


report_app = typer.Typer(help="Reports", no_args_is_help=True)
app.add_typer(report_app, name="report")


class ReportFormat(StrEnum):
    json = "json"
    table = "table"


def _duration(minutes: float | None) -> str:
    """Minutes as a person reads them: "42 min", "3.5 h", "2.1 d"; "–" when there is nothing to measure."""
    if minutes is None:
        return "–"
    if minutes < 90:
        return f"{minutes:.0f} min" if minutes >= 10 else f"{minutes:.1f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


@report_app.command("response-times")
def response_times(
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    org: Annotated[str | None, typer.Option(help="Organisation slug (default: all)")] = None,
    start: Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD (UTC; default 29 days before --to)")] = "",
    end: Annotated[str, typer.Option("--to", help="Last day YYYY-MM-DD, included (default today)")] = "",
) -> None:
    """First-response and resolution time percentiles per brand (the Reports page's figures and range)."""
    _django()
    _migrate()
    from hubbub.insights.services import response_time_report

    try:
        report = response_time_report(org, start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if fmt == ReportFormat.json:
        typer.echo(json.dumps(report, indent=2))
        return
    from rich.table import Column, Table

    rows, period = report["brands"], report["filters"]
    if not rows:
        Console().print(
            f"No customer conversations started from {period['from']} to {period['to']}: import mentions "
            "(`hubbub import airline|twcs|jsonl FILE`), run `hubbub demo`, or widen the range with --from/--to."
        )
        return
    several_orgs = len({row["organization"] for row in rows}) > 1
    table = Table(
        *(["organisation"] if several_orgs else []),
        Column("brand", min_width=10, overflow="ellipsis"),
        Column("conver-\nsations", justify="right"),
        Column("respon-\nded", justify="right"),
        Column("first response\np50 / p90", min_width=15),
        Column("resol-\nved", justify="right"),
        Column("resolution\np50 / p90", min_width=12),
        title=f"Response times (customer-started conversations, {period['from']} to {period['to']})",
    )
    for row in rows:
        fr, rs = row["first_response_minutes"], row["resolution_minutes"]
        table.add_row(
            *([row["organization"]] if several_orgs else []),
            row["brand"],
            f"{row['conversations']:,}",
            f"{fr['count']:,}",
            f"{_duration(fr['p50'])} / {_duration(fr['p90'])}",
            f"{rs['count']:,}",
            f"{_duration(rs['p50'])} / {_duration(rs['p90'])}",
        )
    out = Console()
    out.width = max(out.width, 110)  # a pipe reports 80 columns: the table would be cropped, not wrapped
    out.print(table)


def _report_scopes(org: str | None) -> list[Any]:
    """The whole of each organisation (or of the one named) as a scope: the CLI runs as the operator."""
    from hubbub.tenancy.models import Organization
    from hubbub.tenancy.scoping import system_scope

    orgs = Organization.objects.order_by("id")
    if org:
        orgs = orgs.filter(slug=org)
        if not orgs.exists():
            raise typer.BadParameter(f"no organisation with slug {org!r}", param_hint="--org")
    return [system_scope(o.pk) for o in orgs]


def _run_reports(
    name: str, heading: str, fmt: ReportFormat, org: str | None, start: str, end: str
) -> list[tuple[Console, str, dict[str, Any]]]:
    """Run one report for every organisation (or one), with the page's and the API's filters.

    JSON is printed here (`{"organizations": [...]}`); for a table the caller gets, per organisation,
    a wide console, the table title and the report to draw.
    """
    _django()
    _migrate()
    from hubbub.insights import reports

    results = []
    for scope in _report_scopes(org):
        try:
            filters = reports.parse_filters(scope, {"from": start, "to": end})
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        results.append({"organization": scope.organization.slug, **reports.REPORTS[name](scope, filters)})
    if fmt == ReportFormat.json:
        typer.echo(json.dumps({"organizations": results}, indent=2))
        return []
    out = Console()
    out.width = max(out.width, 130)  # a pipe reports 80 columns: the table would be cropped, not wrapped
    return [
        (out, f"{heading} · {r['organization']} · {r['filters']['from']} to {r['filters']['to']}", r) for r in results
    ]


def _pct_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


ReportFrom = Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD (UTC; default 29 days before --to)")]
ReportTo = Annotated[str, typer.Option("--to", help="Last day YYYY-MM-DD, included (default today)")]
ReportOrg = Annotated[str | None, typer.Option(help="Organisation slug (default: every organisation)")]


@report_app.command("sla")
def sla_report(
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    org: ReportOrg = None,
    start: ReportFrom = "",
    end: ReportTo = "",
) -> None:
    """SLA attainment (first response, resolution) per brand and team, from the stored SLA clocks."""
    from rich.table import Table

    for out, title, result in _run_reports("sla", "SLA attainment", fmt, org, start, end):
        total = result["total"]
        if not (total["first_response"]["counted"] or total["resolution"]["counted"]):
            out.print(f"{title}: no SLA clocks for conversations that started in this range.")
            continue
        table = Table(
            "",
            "first response\nmet / breached / running",
            "attain-\nment",
            "resolution\nmet / breached / running",
            "attain-\nment",
            title=title,
        )
        groups = [("brand", r["brand"], r) for r in result["brands"]]
        groups += [("team", r["team"], r) for r in result["teams"]]
        for kind, label, row in [*groups, ("", "all", total)]:
            cells = []
            for metric in ("first_response", "resolution"):
                a = row[metric]
                cells += [
                    f"{_pct_text(a['met_pct'])} / {_pct_text(a['breached_pct'])} / {_pct_text(a['running_pct'])}"
                    f" (n={a['counted']:,})",
                    _pct_text(a["attainment_pct"]),
                ]
            table.add_row(f"{kind} {label}".strip(), *cells)
        out.print(table)


@report_app.command("rebuild")
def rebuild_reports(
    org: ReportOrg = None,
    start: Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD (default: the first conversation's)")] = "",
    end: ReportTo = "",
) -> None:
    """Build the Reports' daily rollups of a range again (after an upgrade, an import, a restore)."""
    from datetime import date

    _django()
    _migrate()
    from hubbub.insights import rollups  # models: only once Django is set up

    try:
        first, last = (date.fromisoformat(v) if v else None for v in (start, end))
    except ValueError:
        raise typer.BadParameter("dates are written YYYY-MM-DD") from None
    for scope in _report_scopes(org):
        days = rollups.rebuild_range(scope.organization_id, first, last)
        console.print(f"{scope.organization.slug}: {days:,} days of report rollups built")


@report_app.command("agents")
def agents_report(
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.table,
    org: ReportOrg = None,
    start: ReportFrom = "",
    end: ReportTo = "",
) -> None:
    """Per agent and team: conversations, replied, resolved, p50/p90 times, SLA attainment, CSAT."""
    from rich.table import Table

    for out, title, result in _run_reports("agents", "Agents & teams", fmt, org, start, end):
        if not result["agents"] and not result["teams"]:
            out.print(f"{title}: no conversations started in this range.")
            continue
        table = Table(
            "",
            "conver-\nsations",
            "replied",
            "resolved",
            "first response\np50 / p90",
            "resolution\np50 / p90",
            "SLA first\nresponse",
            "SLA reso-\nlution",
            "CSAT (n)",
            title=title,
        )
        rows = [("agent", r) for r in result["agents"]] + [("team", r) for r in result["teams"]]
        for kind, r in rows:
            csat = "–" if r["csat_average"] is None else f"{r['csat_average']:.2f} ({r['csat_responses']})"
            table.add_row(
                f"{kind} {r['name']}",
                f"{r['conversations']:,}",
                f"{r['replied']:,}",
                f"{r['resolved']:,}",
                f"{_duration(r['first_response_p50'])} / {_duration(r['first_response_p90'])}",
                f"{_duration(r['resolution_p50'])} / {_duration(r['resolution_p90'])}",
                _pct_text(r["sla"]["first_response"]["attainment_pct"]),
                _pct_text(r["sla"]["resolution"]["attainment_pct"]),
                csat,
            )
        out.print(table)


# The commands other apps own, mounted here with plain imports: a command that cannot be imported is a broken
# install and should say so, not vanish from `--help`. The engine's (classify, analysis, listen) import no Django.
app.command("classify")(classify)
# Re-analysis rewrites the inbox's messages, so the inbox owns it; it is listed with the engine's commands.
analysis_app.command("reanalyze")(reanalyze_command)
app.add_typer(analysis_app, name="analysis")
app.add_typer(listen_app, name="listen")
app.add_typer(channels_app, name="channels")  # a poll ends in ingest's accept, so ingest owns the commands
# ops owns backup, restore and retention: they span every app's tables
app.command("backup")(backup)
app.command("restore")(restore)
app.add_typer(retention_app, name="retention")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
