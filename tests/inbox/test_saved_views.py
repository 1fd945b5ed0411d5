"""Saved views: the built-in ones and an agent's own, with the counts a user sees (`inbox.saved_views`)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hubbub.crm.models import SocialProfile
from hubbub.inbox.models import Conversation, SavedView
from hubbub.tenancy.models import AuditEvent, Membership

pytestmark = pytest.mark.django_db


def _conv(acme, n: int, brand: str = "Acme Air", **fields) -> Conversation:  # type: ignore[no-untyped-def]
    org = acme["org"]
    author = SocialProfile.objects.create(organization=org, network="x", external_id=f"a{n}", handle=f"a{n}")
    now = timezone.now()
    values = {"status": "open", "sentiment": "neutral", "first_message_at": now, "last_message_at": now} | fields
    return Conversation.objects.create(
        organization=org, brand=org.brands.get(name=brand), network="x", author=author, **values
    )


def _counts(client: Client) -> dict[str, int]:
    page = client.get("/views/")
    assert page.status_code == 200
    found = re.findall(r'<a href="/\?[^"]*"[^>]*>([^<]+?) <span class="count"[^>]*>(\d+)</span>', page.content.decode())
    return {name: int(n) for name, n in found}


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_built_in_views_count_what_their_lists_show(acme):
    agent = acme["users"]["agent"]
    soon = timezone.now() + timedelta(minutes=10)
    _conv(acme, 1, assignee=agent)
    _conv(acme, 2, assignee=agent, status="resolved")  # not open: not in "Mine"
    _conv(acme, 3, sentiment="negative")
    _conv(acme, 4, sentiment="negative", sla_due_at=soon, team=acme["team"])
    _conv(acme, 5, sla_due_at=timezone.now() + timedelta(hours=3))  # due later than 15 minutes
    _conv(acme, 6, sla_due_at=timezone.now() - timedelta(minutes=5), team=acme["team"])  # overdue already
    client = _client(agent)
    counts = _counts(client)
    assert counts == {"Mine": 1, "Breaching in 15 min": 1, "Overdue": 1, "Unassigned negative": 2, "Care queue": 2}
    # each count is what the view's own list holds
    for name, query in [
        ("Breaching in 15 min", "status=open&due=15&sort=sla"),
        ("Care queue", f"team={acme['team'].pk}"),
    ]:
        listed = client.get(f"/?{query}").content.decode().count('class="conv-row')
        assert listed == counts[name], name


def test_a_brand_restricted_agent_counts_only_their_brands(acme):
    agent = acme["users"]["agent"]
    Membership.objects.get(user=agent).brands.set([acme["org"].brands.get(name="Acme Rail")])
    _conv(acme, 1, sentiment="negative")
    _conv(acme, 2, sentiment="negative", brand="Acme Rail")
    assert _counts(_client(agent))["Unassigned negative"] == 1


def test_an_agent_saves_the_filters_on_screen_and_only_they_can_delete_the_view(acme):
    agent, other = acme["users"]["agent"], acme["users"]["supervisor"]
    _conv(acme, 1, sentiment="negative")
    client = _client(agent)
    shown = "http://testserver/?sentiment=negative&status=open&cursor=abc&c=12"
    saved = client.post("/views/save/", {"name": "  Angry  ones "}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=shown)
    assert saved.status_code == 204 and saved["HX-Redirect"] == "/?status=open&sentiment=negative"
    view = SavedView.objects.get(user=agent)
    assert (view.name, view.query) == ("Angry ones", "status=open&sentiment=negative")  # no cursor, no pane
    assert _counts(client)["Angry ones"] == 1
    assert "Angry ones" not in _counts(_client(other))  # personal
    again = client.post("/views/save/", {"name": "Angry ones", "query": "status=pending"})
    assert again.status_code == 400 and "already have a view" in again.content.decode()
    empty = client.post("/views/save/", {"name": "Everything", "query": "cursor=x"})
    assert empty.status_code == 400 and "Choose some filters" in empty.content.decode()
    assert _client(other).post(f"/views/{view.pk}/delete/").status_code == 404
    assert client.post(f"/views/{view.pk}/delete/").status_code == 200
    assert not SavedView.objects.exists()
    verbs = list(AuditEvent.objects.filter(verb__startswith="inbox.view").values_list("verb", flat=True))
    assert sorted(verbs) == ["inbox.view_deleted", "inbox.view_saved"]


@pytest.mark.parametrize("due", ["-5", "abc", "99999999", "15.5"])
def test_a_typed_due_filter_that_is_not_minutes_is_ignored(acme, due):
    _conv(acme, 1)
    page = _client(acme["users"]["agent"]).get(f"/?due={due}")
    assert page.status_code == 200 and page.content.decode().count('class="conv-row') == 1
