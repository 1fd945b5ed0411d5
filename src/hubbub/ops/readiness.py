"""Readiness: may this process take traffic, and is the pipeline behind it keeping up?

`/readyz` is read by load balancers, orchestrators and people, none of them signed in, so it carries
counts and short reasons only: no organisation names, no ids. `verdict` is the pure core (the checks'
statuses from plain figures); `readiness` is the Django shell that gathers the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from hubbub.ops import figures


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", "detail": self.detail, **self.data}


def ingest_check(depth: int | None, lag_seconds: list[float], max_lag: float) -> Check:
    """The queue and the ingest lag: failing once any organisation's oldest waiting event is older than
    `max_lag`, since the worker is then stopped or far behind whatever the web process does."""
    behind = sum(1 for s in lag_seconds if s >= max_lag)
    data = {
        "queue_depth": depth,
        "organisations_waiting": sum(1 for s in lag_seconds if s > 0),
        "organisations_behind": behind,
        "oldest_pending_seconds": round(max(lag_seconds, default=0.0)),
        "threshold_seconds": round(max_lag),
    }
    if behind:
        detail = f"{behind} organisation(s) have events waiting over {round(max_lag)} s: is a worker running?"
        return Check("ingest", False, detail, data)
    return Check("ingest", True, "the worker keeps up", data)


def verdict(checks: list[Check]) -> tuple[bool, dict[str, Any]]:
    ready = all(c.ok for c in checks)
    return ready, {"status": "ok" if ready else "fail", "checks": {c.name: c.as_json() for c in checks}}


def readiness(now: datetime) -> tuple[bool, dict[str, Any]]:
    """Every check of this deployment; the ingest figures are skipped when the database is away."""
    database = figures.probe_database()
    checks = [Check("database", database.ok, database.detail)]
    redis_probe = figures.probe_redis()
    if redis_probe is not None:
        checks.append(Check("redis", redis_probe.ok, redis_probe.detail))
    if database.ok:
        try:
            lags = [figures.lag_seconds(lag, now) for lag in figures.ingest_lags(None, now)]
        except DatabaseError as exc:  # it answers, but not with our tables: a migration is missing
            checks.append(
                Check("ingest", False, f"cannot read the ingest log ({type(exc).__name__}): run hubbub migrate?")
            )
        else:
            check = ingest_check(figures.queue_depth(), lags, settings.READY_MAX_LAG_SECONDS)
            check.data["queue_limit"] = settings.TASK_QUEUE_LIMIT or None  # over it: a drain task, nothing refused
            checks.append(check)
    else:
        checks.append(Check("ingest", False, "not checked: the database is unreachable"))
    return verdict(checks)
