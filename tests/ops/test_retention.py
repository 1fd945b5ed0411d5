"""Retention: old raw mentions lose their contents; conversations, rollups and reports stay as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from hubbub.inbox.models import Message
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.services import accept, process_pending
from hubbub.insights import reports
from hubbub.listening.models import MentionRollup
from hubbub.ops import retention
from hubbub.ops.tasks import prune_raw_events
from hubbub.tenancy.models import AuditEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _figures(scope) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """What a user reads: the volume report over the mentions' days, stored messages, rollup totals."""
    volume = reports.volume(scope, reports.Filters(start=date(2026, 10, 25), end=date(2026, 11, 5)))
    rollup = sorted(MentionRollup.objects.values_list("brand_id", "grain", "bucket", "total"))
    return volume, Message.objects.count(), rollup


def _ingest(org, make_event, texts: list[str], days_ago: int) -> list[int]:  # type: ignore[no-untyped-def]
    ids = accept(org.pk, [make_event(t, author=f"a-{t}") for t in texts], "test").raw_ids
    process_pending(org.pk)
    RawEvent.objects.filter(pk__in=ids).update(received_at=NOW - timedelta(days=days_ago))
    return ids


def test_old_raw_mentions_go_and_reports_stay(acme, make_event, scope_of) -> None:  # type: ignore[no-untyped-def]
    org = acme["org"]
    old = _ingest(org, make_event, [f"old complaint {i}" for i in range(7)], days_ago=40)
    recent = _ingest(org, make_event, [f"recent praise {i}" for i in range(3)], days_ago=5)
    stale = QuarantinedEvent.objects.create(organization=org, source="test", reason="bad", raw="old secret")
    QuarantinedEvent.objects.filter(pk=stale.pk).update(created_at=NOW - timedelta(days=40))
    scope = scope_of(acme["users"]["analyst"])
    before = _figures(scope)
    assert before[1] == 10 and before[2]  # ten stored messages, counted in the rollups
    org.raw_retention_days = 30
    org.save()

    pruned = retention.prune_organization(org, now=NOW, batch=3)  # three batches of old rows

    assert (pruned.raw_events, pruned.quarantine_entries) == (7, 1)
    old_payloads = RawEvent.objects.filter(pk__in=old).values_list("payload", flat=True)
    assert all(p == {retention.PRUNED: NOW.isoformat()} for p in old_payloads)
    assert all(
        "recent praise" in p["text"] for p in RawEvent.objects.filter(pk__in=recent).values_list("payload", flat=True)
    )
    assert not QuarantinedEvent.objects.filter(pk=stale.pk).exists()
    assert _figures(scope) == before
    entry = AuditEvent.objects.get(organization=org, verb="retention.pruned")
    assert entry.data["raw_events"] == 7 and entry.data["quarantine_entries"] == 1 and entry.data["days"] == 30

    # a second run finds nothing left to do and writes no second entry
    assert retention.prune_organization(org, now=NOW) == retention.Pruned()
    assert AuditEvent.objects.filter(verb="retention.pruned").count() == 1


def test_an_old_mention_delivered_again_is_still_a_duplicate(acme, make_event, scope_of) -> None:  # type: ignore[no-untyped-def]
    org = acme["org"]
    event = make_event("delivered twice")
    accept(org.pk, [event], "test")
    process_pending(org.pk)
    RawEvent.objects.update(received_at=NOW - timedelta(days=90))
    org.raw_retention_days = 30
    org.save()
    retention.prune_organization(org, now=NOW)
    before = _figures(scope_of(acme["users"]["analyst"]))

    again = accept(org.pk, [event], "test")
    process_pending(org.pk)

    assert (again.accepted, again.duplicates, RawEvent.objects.count()) == (0, 1, 1)
    assert _figures(scope_of(acme["users"]["analyst"])) == before


def test_without_a_retention_nothing_is_pruned(acme, make_event) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(acme["org"], make_event, ["kept forever"], days_ago=3650)

    assert prune_raw_events.call_local() == 0

    assert RawEvent.objects.get(pk=ids[0]).payload["text"] == "kept forever"
    assert not AuditEvent.objects.filter(verb="retention.pruned").exists()


def test_pending_events_are_never_pruned(acme, make_event) -> None:  # type: ignore[no-untyped-def]
    org = acme["org"]
    org.raw_retention_days = 1
    org.save()
    ids = accept(org.pk, [make_event("waiting")], "test").raw_ids
    RawEvent.objects.filter(pk__in=ids).update(
        state=RawEvent.State.PENDING, received_at=timezone.now() - timedelta(days=9)
    )

    assert prune_raw_events.call_local() == 0
    assert RawEvent.objects.get(pk=ids[0]).payload["text"] == "waiting"


def test_an_operator_sets_and_applies_retention_from_the_cli(acme, make_event) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from hubbub.cli import app

    ids = _ingest(acme["org"], make_event, ["from last year"], days_ago=400)
    runner = CliRunner()

    changed = runner.invoke(app, ["retention", "set", "90", "--org", "acme"])
    ran = runner.invoke(app, ["retention", "run"])

    assert changed.exit_code == 0 and "acme: raw mentions kept 90 days" in changed.output
    assert ran.exit_code == 0 and "acme: 1 raw events pruned" in ran.output
    assert retention.PRUNED in RawEvent.objects.get(pk=ids[0]).payload
    change = AuditEvent.objects.get(verb="retention.changed")
    assert (change.data["before"], change.data["after"]) == (None, 90)
    assert runner.invoke(app, ["retention", "set", "1", "--org", "nobody"]).exit_code == 1


def test_each_organisation_keeps_its_own_retention(make_org, make_event) -> None:  # type: ignore[no-untyped-def]
    short, long_, none = (make_org(slug, brands=("Acme Air",))["org"] for slug in ("short", "long", "none"))
    mine = {org.slug: _ingest(org, make_event, [f"{org.slug} mention"], days_ago=20) for org in (short, long_, none)}
    retention.set_retention(short, 10)
    retention.set_retention(long_, 30)

    assert prune_raw_events.call_local() == 1

    texts = {slug: RawEvent.objects.get(pk=ids[0]).payload.get("text") for slug, ids in mine.items()}
    assert texts == {"short": None, "long": "long mention", "none": "none mention"}
