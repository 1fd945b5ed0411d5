"""The figures an operator watches, read from where they live: the database, Redis and the task queue.

One place for them so `/readyz`, `/metrics` and Settings → System never disagree. Each probe returns a
`Probe` (ok or not, a short reason) instead of raising: a health page that fails with the thing it
reports on tells nobody anything. Reasons name the class of failure, never a password from a URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, QuerySet
from huey.contrib.djhuey import HUEY

from hubbub.inbox.models import Reply
from hubbub.ingest.health import IngestLag, lag_of
from hubbub.workflow.models import SLAClock

#: Failed deliveries are counted over this window (the page and the gauge say so).
FAILURE_WINDOW = timedelta(hours=24)
#: Redis and the queue answer at once or not at all: waiting longer only delays the verdict.
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str


def probe_database(conn: BaseDatabaseWrapper | None = None) -> Probe:
    """The database answers a query (a fresh connection is opened when the last one went away)."""
    conn = conn or connection
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Probe(False, f"database unreachable: {type(exc).__name__}: {_first_line(exc)}")
    return Probe(True, f"{conn.vendor} answers")


def probe_redis(url: str | None = None) -> Probe | None:
    """Redis answers PING; None when this deployment runs without Redis (embedded mode)."""
    url = settings.REDIS_URL if url is None else url
    if not url:
        return None
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return Probe(False, f"redis unreachable: {type(exc).__name__}: {_first_line(exc)}")
    finally:
        client.close()
    return Probe(True, "redis answers PING")


def queue_depth() -> int | None:
    """Tasks waiting in the Huey queue; None when the queue cannot be read (the probe above says why)."""
    try:
        return int(HUEY.pending_count())
    except Exception:  # noqa: BLE001 - any storage failure means "unknown", which the page shows as such
        return None


def ingest_lags(organization_ids: Sequence[int] | None, now: datetime) -> list[IngestLag]:
    """Ingest health's own query (one grouped query per figure, whatever the number of organisations)."""
    return lag_of(organization_ids, now)


def lag_seconds(lag: IngestLag, now: datetime) -> float:
    return max(0.0, (now - lag.oldest_pending_at).total_seconds()) if lag.oldest_pending_at else 0.0


def delivery_failures(organization_ids: Sequence[int] | None, now: datetime) -> dict[int, int]:
    """Replies that failed for good in the window, per organisation (the claim time is the last attempt's)."""
    qs = Reply.objects.filter(state=Reply.State.FAILED, claimed_at__gte=now - FAILURE_WINDOW)
    if organization_ids is not None:
        qs = qs.filter(organization_id__in=organization_ids)
    return _count_by_org(qs)


def sla_breaches_today(organization_ids: Sequence[int] | None, now: datetime) -> dict[int, int]:
    """SLA clocks that breached since midnight UTC, per organisation."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    qs = SLAClock.objects.filter(breached_at__gte=midnight)
    if organization_ids is not None:
        qs = qs.filter(organization_id__in=organization_ids)
    return _count_by_org(qs)


def _count_by_org(qs: QuerySet[Any]) -> dict[int, int]:
    rows = qs.values("organization_id").annotate(n=Count("id")).order_by().values_list("organization_id", "n")
    return {org_id: n for org_id, n in rows}


def _first_line(exc: BaseException) -> str:
    """The error's first line, short: enough to tell "refused" from "timed out"; no connection string."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:160]
