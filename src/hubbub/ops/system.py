"""Settings → System: the operator's figures for an organisation's admins, each with what to do about it.

An admin sees their organisation's figures and the shared services' state (database, Redis, queue
depth: counts only); a platform superuser sees every organisation's. `assess` is the pure core that
turns figures into lines an admin can act on; `system_report` is the Django shell that reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from hubbub.ingest.health import IngestLag
from hubbub.ops import figures

#: More tasks than this waiting means the workers do not keep up (an import is a few tasks, not thousands).
QUEUE_BACKLOG = 1000


@dataclass(frozen=True)
class Line:
    label: str
    value: str
    ok: bool
    advice: str = ""  # what to do, when not ok


@dataclass(frozen=True)
class Report:
    lines: list[Line]
    lags: list[IngestLag]
    all_organisations: bool

    @property
    def healthy(self) -> bool:
        return all(line.ok for line in self.lines)

    @property
    def degraded(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]


def assess(
    database: figures.Probe,
    redis_probe: figures.Probe | None,
    depth: int | None,
    worker_lag_seconds: float,
    failures: int,
    breaches: int,
    max_lag: float,
    queue_limit: int = 0,
) -> list[Line]:
    """The page's lines, from plain figures. `queue_limit`: the task queue's back-pressure limit (0: none)."""
    full = bool(queue_limit) and depth is not None and depth >= queue_limit
    lines = [
        Line(
            "Database", database.detail, database.ok, "Check that the database server runs and DATABASE_URL is right."
        ),
        Line(
            "Redis",
            redis_probe.detail if redis_probe else "not used (embedded mode: queue and live updates in process)",
            redis_probe.ok if redis_probe else True,
            "Check that Redis runs and REDIS_URL is right; without it tasks and live updates stop.",
        ),
        Line(
            "Task queue",
            _queue_value(depth, queue_limit if full else 0),
            depth is not None and depth < QUEUE_BACKLOG and not full,
            "Start more workers (hubbub worker --concurrency N) or check that they run; nothing is lost meanwhile.",
        ),
        Line(
            "Worker lag",
            "nothing waiting" if not worker_lag_seconds else f"oldest waiting event {round(worker_lag_seconds)} s old",
            worker_lag_seconds < max_lag,
            "Events wait too long: check that hubbub worker (or hubbub serve) runs; see Ingest health.",
        ),
        Line(
            "Reply delivery failures, last 24 h",
            f"{failures:,}",
            failures == 0,
            "Open the failed replies in the inbox: each says why; fix the channel (Settings → Channels), then retry.",
        ),
        Line(
            "SLA breaches today (UTC)",
            f"{breaches:,}",
            breaches == 0,
            "Look at the SLA report and the queue: more agents on shift, or routing that sends work to idle teams.",
        ),
    ]
    return lines


def system_report(organization_ids: Sequence[int] | None, now: datetime) -> Report:
    """The figures of these organisations (None: all), and the shared services' state."""
    database = figures.probe_database()
    redis_probe = figures.probe_redis()
    depth = figures.queue_depth()
    if organization_ids is not None:  # a tenant's admin: the state, not the platform's hosts and errors
        database, redis_probe = _plain(database), _plain(redis_probe) if redis_probe else None
    if database.ok:
        lags = figures.ingest_lags(organization_ids, now)
        failures = sum(figures.delivery_failures(organization_ids, now).values())
        breaches = sum(figures.sla_breaches_today(organization_ids, now).values())
    else:
        lags, failures, breaches = [], 0, 0
    worker_lag = max((figures.lag_seconds(lag, now) for lag in lags), default=0.0)
    lines = assess(
        database,
        redis_probe,
        depth,
        worker_lag,
        failures,
        breaches,
        settings.READY_MAX_LAG_SECONDS,
        settings.TASK_QUEUE_LIMIT,
    )
    return Report(lines, lags, organization_ids is None)


def _queue_value(depth: int | None, exceeded_limit: int) -> str:
    if depth is None:
        return "unknown"
    if exceeded_limit:
        return f"{depth:,} task(s) waiting, over the limit of {exceeded_limit:,}: new mentions wait for one drain task"
    return f"{depth:,} task(s) waiting"


def _plain(probe: figures.Probe) -> figures.Probe:
    return figures.Probe(probe.ok, "answers" if probe.ok else "unreachable: the platform's operator is needed")
