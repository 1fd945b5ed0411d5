"""Settings → System: an organisation's admins see their figures and what to do; nobody else sees them."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from hubbub.inbox.models import Conversation, Reply

pytestmark = pytest.mark.django_db

PAGE = "/settings/system/"


def _failed_reply(org_fixture, ingest, make_event) -> None:  # type: ignore[no-untyped-def]
    ingest(org_fixture["org"], [make_event("where is my bag", author=f"x{org_fixture['org'].pk}")])
    conversation = Conversation.objects.filter(organization=org_fixture["org"]).first()
    Reply.objects.create(
        organization=org_fixture["org"],
        brand_id=conversation.brand_id,
        conversation=conversation,
        text="Sorry!",
        state=Reply.State.FAILED,
        claimed_at=timezone.now(),
        error="refused",
    )


def test_all_healthy_says_so_and_links_to_ingest_health(client, acme):  # type: ignore[no-untyped-def]
    client.force_login(acme["users"]["admin"])
    page = client.get(PAGE).content.decode()
    assert "All healthy." in page
    assert reverse("ingest_health") in page
    assert PAGE in client.get(reverse("ingest_health")).content.decode()  # the settings menu links here


@pytest.mark.parametrize("role", ["supervisor", "agent", "analyst"])
def test_only_admins_see_it(client, acme, role):  # type: ignore[no-untyped-def]
    client.force_login(acme["users"][role])
    answer = client.get(PAGE)
    assert answer.status_code == 403
    assert "The System page is for your organisation's admins." in html.unescape(answer.content.decode())


def test_signed_out_visitors_are_sent_to_sign_in(client):  # type: ignore[no-untyped-def]
    answer = client.get(PAGE)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_an_admin_sees_what_is_degraded_in_their_organisation_only(  # type: ignore[no-untyped-def]
    client, acme, make_org, ingest, make_event, waiting_events
):
    globex = make_org("globex")
    _failed_reply(globex, ingest, make_event)
    waiting_events(globex["org"], 4, minutes_ago=30)
    client.force_login(acme["users"]["admin"])

    assert "All healthy." in client.get(PAGE).content.decode()  # another organisation's trouble is not ours

    _failed_reply(acme, ingest, make_event)
    waiting_events(acme["org"], 2, minutes_ago=10)
    page = client.get(PAGE).content.decode()

    assert "Degraded:" in page
    assert "Worker lag, Reply delivery failures, last 24 h." in page
    assert "check that hubbub worker (or hubbub serve) runs" in page
    assert "2 events waiting, oldest 10 min." in page
    assert "4 events waiting" not in page and "Globex" not in page


def test_a_platform_superuser_sees_every_organisation(client, acme, make_org, waiting_events):  # type: ignore[no-untyped-def]
    globex = make_org("globex")
    waiting_events(globex["org"], 4, minutes_ago=30)
    root = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-root-pass")
    client.force_login(root)

    page = client.get(PAGE).content.decode()

    assert "(every organisation)" in page
    assert f"{globex['org'].name}: 4 events waiting, oldest 30 min." in page
    assert f"{acme['org'].name}: No events received yet" in page
