"""Ingest health: an organisation's admins see how far behind ingest is; a superuser sees every organisation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from hubbub.ingest.health import describe
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.services import accept


@pytest.mark.parametrize(
    ("pending", "age", "received", "expected"),
    [
        (0, None, True, ("All caught up.", "ok")),
        (0, None, False, ("No events received yet: connect a channel or import a file.", "empty")),
        (1, timedelta(seconds=20), True, ("1 event waiting, oldest under a minute.", "waiting")),
        (2_000, timedelta(minutes=10), True, ("2,000 events waiting, oldest 10 min.", "stalled")),
        (3, timedelta(hours=3, minutes=5), True, ("3 events waiting, oldest 3 h 5 min.", "stalled")),
    ],
)
def test_the_sentence_an_admin_reads(pending, age, received, expected):
    assert describe(pending, age, received) == expected


def _pending(org, make_event, n, minutes_ago):  # type: ignore[no-untyped-def]
    ids = accept(org.pk, [make_event(f"m{i}", author=f"u{i}") for i in range(n)], "test").raw_ids
    RawEvent.objects.filter(pk__in=ids).update(received_at=timezone.now() - timedelta(minutes=minutes_ago))


@pytest.mark.django_db
def test_an_admin_sees_their_organisations_lag_and_nothing_of_another(client, make_org, make_event):
    acme, globex = make_org("acme"), make_org("globex")
    _pending(acme["org"], make_event, 2, minutes_ago=10)
    _pending(globex["org"], make_event, 5, minutes_ago=30)
    QuarantinedEvent.objects.create(organization=acme["org"], source="import:jsonl", reason="invalid JSON")
    client.force_login(acme["users"]["admin"])

    page = client.get(reverse("ingest_health")).content.decode()

    assert "2 events waiting, oldest 10 min." in page
    assert "5 events waiting" not in page and "Globex" not in page
    assert "<td>1</td>" in page  # quarantined in the last 24 hours


@pytest.mark.django_db
def test_all_caught_up_and_the_link_from_settings(client, acme):
    client.force_login(acme["users"]["admin"])
    settings_page = client.get(reverse("accounts:members")).content.decode()
    assert reverse("ingest_health") in settings_page
    assert reverse("ingest_health") in client.get(reverse("quarantine")).content.decode()
    assert "No events received yet" in client.get(reverse("ingest_health")).content.decode()


@pytest.mark.django_db
def test_only_admins_and_superusers_may_look(client, make_org, make_event):
    acme, globex = make_org("acme"), make_org("globex")
    _pending(globex["org"], make_event, 1, minutes_ago=2)
    client.force_login(acme["users"]["supervisor"])
    assert client.get(reverse("ingest_health")).status_code == 403
    root = get_user_model().objects.create_superuser("root", password="pw-12345678")
    client.force_login(root)
    page = client.get(reverse("ingest_health")).content.decode()
    assert "Acme" in page and "Globex" in page and "1 event waiting, oldest 2 min." in page
