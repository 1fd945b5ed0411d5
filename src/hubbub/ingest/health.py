"""Ingest lag per organisation: what is waiting for the worker, since when, and what was quarantined lately.

Why a page of its own: a stalled pipeline is silent. Mentions keep being accepted (webhooks answer 2xx,
imports report them) while nothing reaches the inbox, so the admins see lag here before customers notice.
`describe` is the pure core (a sentence from the numbers); `lag_of` is the Django shell (three grouped
queries, whatever the number of organisations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Min, OuterRef

from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.tenancy.models import Organization

#: The sweeper takes up events whose task was lost after a minute; waiting much longer means a stall.
STALLED_AFTER = timedelta(minutes=5)
QUARANTINE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class IngestLag:
    organization_id: int
    organization_name: str
    pending: int
    oldest_pending_at: datetime | None
    quarantined_24h: int
    ever_received: bool
    message: str
    level: str  # "ok", "waiting", "stalled" or "empty": how the page colours the row


def describe(pending: int, oldest_age: timedelta | None, ever_received: bool = True) -> tuple[str, str]:
    """The sentence and the level an admin reads for an organisation's ingest lag."""
    if pending == 0:
        if not ever_received:
            return "No events received yet: connect a channel or import a file.", "empty"
        return "All caught up.", "ok"
    waiting = f"{pending:,} event{'s' if pending != 1 else ''} waiting"
    if oldest_age is None:
        return f"{waiting}.", "waiting"
    level = "stalled" if oldest_age >= STALLED_AFTER else "waiting"
    return f"{waiting}, oldest {_age(oldest_age)}.", level


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours < 48 else f"{hours // 24} days"


def lag_of(organization_ids: Sequence[int] | None, now: datetime) -> list[IngestLag]:
    """The lag of these organisations (None: all of them), the most behind first."""
    orgs = Organization.objects.order_by("name")
    pending = RawEvent.objects.filter(state=RawEvent.State.PENDING)
    quarantined = QuarantinedEvent.objects.filter(created_at__gte=now - QUARANTINE_WINDOW)
    if organization_ids is not None:
        orgs = orgs.filter(pk__in=organization_ids)
        pending = pending.filter(organization_id__in=organization_ids)
        quarantined = quarantined.filter(organization_id__in=organization_ids)
    waiting = {
        row["organization_id"]: (row["n"], row["oldest"])
        for row in pending.values("organization_id").annotate(n=Count("id"), oldest=Min("received_at")).order_by()
    }
    recent = dict(quarantined.values("organization_id").annotate(n=Count("id")).values_list("organization_id", "n"))
    received = orgs.annotate(received=Exists(RawEvent.objects.filter(organization_id=OuterRef("pk"))))
    out = []
    for org in received:
        count, oldest = waiting.get(org.pk, (0, None))
        message, level = describe(count, now - oldest if oldest else None, org.received)
        out.append(IngestLag(org.pk, org.name, count, oldest, recent.get(org.pk, 0), org.received, message, level))
    out.sort(key=lambda lag: (lag.oldest_pending_at is None, lag.oldest_pending_at or now, lag.organization_name))
    return out
