"""Retention: an organisation's raw mentions are kept `Organization.raw_retention_days`, then pruned.

The raw event log keeps every mention as the network sent it, a second copy of text and author data the inbox
already holds. Past the organisation's retention the copy goes: the payload of each processed (or quarantined)
raw event is replaced by a stamp, and quarantine entries are deleted. The raw row itself stays, reduced to its
`(network, external_id)` key, because that key is what makes a re-delivered or re-imported mention a duplicate:
without it, importing an old file again would count every mention a second time in the listening rollups.
Conversations, messages, rollups and reports are never touched. Pending events are never pruned (they have not
become conversations yet).

The work goes in batches of `BATCH` rows, one short transaction each, so ingest and the web are never held
behind one long lock; every run that pruned something leaves one audit entry with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.tenancy.models import Organization
from hubbub.tenancy.services import audit

BATCH = 1_000
#: The key a pruned payload holds (and nothing else): when it was pruned.
PRUNED = "pruned_at"


@dataclass
class Pruned:
    raw_events: int = 0
    quarantine_entries: int = 0


def _prune_raw(cutoffs: dict[int, datetime], now: datetime, batch: int) -> dict[int, int]:
    """One walk over the log in windows of `batch` ids, for every organisation at once.

    A window is a primary-key range, the one access path that costs the same on both engines: filtering by
    organisation and time in SQL makes SQLite pick the `(organization, network, external_id)` index and sort,
    i.e. read the organisation's whole log once per batch. Rows are sorted out here instead.
    """
    done: dict[int, int] = dict.fromkeys(cutoffs, 0)
    bounds = RawEvent.objects.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return done
    stamp = {PRUNED: now.isoformat()}
    for lo in range(bounds["lo"] - 1, bounds["hi"], batch):
        rows = (
            RawEvent.objects.filter(id__gt=lo, id__lte=lo + batch)
            .exclude(state=RawEvent.State.PENDING)
            .exclude(payload__has_key=PRUNED)
            .values_list("id", "organization_id", "received_at")
        )
        due = [(pk, org) for pk, org, at in rows if org in cutoffs and at < cutoffs[org]]
        if not due:
            continue
        with transaction.atomic():  # one short transaction per window; `pending` rechecked under the write
            RawEvent.objects.filter(id__in=[pk for pk, _ in due]).exclude(state=RawEvent.State.PENDING).update(
                payload=stamp
            )
        for _, org in due:
            done[org] += 1
    return done


def _delete_quarantine(org_id: int, cutoff: datetime, batch: int) -> int:
    old = QuarantinedEvent.objects.filter(organization_id=org_id, created_at__lt=cutoff)
    done = 0
    while ids := list(old.order_by("id").values_list("id", flat=True)[:batch]):
        with transaction.atomic():
            deleted, _ = QuarantinedEvent.objects.filter(id__in=ids).delete()
        done += deleted
    return done


def prune_organization(org: Organization, now: datetime | None = None, batch: int = BATCH) -> Pruned:
    """Prune what is older than the organisation's retention (nothing when it has none), audited with counts."""
    return _prune([org], now or timezone.now(), batch).get(org.pk, Pruned())


def _prune(orgs: list[Organization], now: datetime, batch: int) -> dict[int, Pruned]:
    cutoffs = {o.pk: now - timedelta(days=o.raw_retention_days) for o in orgs if o.raw_retention_days}
    raw = _prune_raw(cutoffs, now, batch) if cutoffs else {}
    result = {}
    for org in orgs:
        if org.pk not in cutoffs:
            continue
        pruned = result[org.pk] = Pruned(raw[org.pk], _delete_quarantine(org.pk, cutoffs[org.pk], batch))
        if pruned.raw_events or pruned.quarantine_entries:
            audit(
                org.pk,
                None,
                "retention.pruned",
                org,
                days=org.raw_retention_days,
                before=cutoffs[org.pk].isoformat(),
                raw_events=pruned.raw_events,
                quarantine_entries=pruned.quarantine_entries,
            )
    return result


def set_retention(org: Organization, days: int | None, actor: AbstractBaseUser | None = None) -> None:
    """Change how long raw mentions are kept (None or 0: forever); audited with the old and new values."""
    days = days or None
    if days == org.raw_retention_days:
        return
    before, org.raw_retention_days = org.raw_retention_days, days
    with transaction.atomic():
        org.save(update_fields=["raw_retention_days"])
        audit(org.pk, actor, "retention.changed", org, before=before, after=days)


def prune_all(now: datetime | None = None) -> dict[int, Pruned]:
    """Every organisation that set a retention; the periodic task's body."""
    orgs = list(Organization.objects.filter(raw_retention_days__gt=0).order_by("id"))
    return _prune(orgs, now or timezone.now(), BATCH)
