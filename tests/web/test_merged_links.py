"""Links to a conversation that was merged into another lead to the survivor, only for those who may see it."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox.models import Conversation, Reply
from hubbub.tenancy.models import Membership
from tests.inbox.merges import merged_chain

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chain(acme, make_event, ingest) -> tuple[int, int, int]:
    return merged_chain(acme["org"], make_event, ingest)


def test_a_merged_id_redirects_to_the_survivor_with_a_notice(acme, chain):
    a, b, c = chain
    agent = client_of(acme["users"]["agent"])
    r = agent.get(f"/c/{a}/?status=open")
    assert r.status_code == 302 and r["Location"] == f"/c/{c}/?status=open"
    page = agent.get(r["Location"]).content.decode()
    assert f"This conversation was merged into #{c}." in page and f'data-conversation="{c}"' in page
    r = agent.get(f"/c/{b}/", follow=True)
    assert r.redirect_chain == [(f"/c/{c}/", 302)]  # A → B → C is one hop
    assert agent.get(f"/c/{c}/").status_code == 200


def test_the_thread_pane_shows_the_survivor_and_moves_the_url(acme, chain):
    a, _, c = chain
    r = client_of(acme["users"]["agent"]).get(f"/c/{a}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane")
    body = r.content.decode()
    assert r.status_code == 200 and "<html" not in body and "composer" in body
    assert f'data-conversation="{c}"' in body and f"merged into #{c}." in body
    assert r["HX-Push-Url"] == f"/c/{c}/"


def test_an_action_on_a_merged_id_changes_nothing_and_shows_the_survivor(acme, chain):
    a, _, c = chain
    agent = client_of(acme["users"]["agent"])
    r = agent.post(f"/c/{a}/reply/", {"text": "On it!"})
    assert r.status_code == 302 and r["Location"] == f"/c/{c}/"
    r = agent.post(f"/c/{a}/status/", {"status": "resolved"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane")
    assert f'data-conversation="{c}"' in r.content.decode() and "Nothing was changed" in r.content.decode()
    assert r["HX-Push-Url"] == f"/c/{c}/"
    assert not Reply.objects.exists() and Conversation.objects.get(pk=c).status == "open"


def test_another_organisation_gets_a_plain_404(make_org, acme, chain):
    a, _, c = chain
    outsider = client_of(make_org("globex")["users"]["admin"])
    for r in (
        outsider.get(f"/c/{a}/"),
        outsider.get(f"/c/{a}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane"),
        outsider.post(f"/c/{a}/note/", {"text": "hi"}),
    ):
        body = r.content.decode()
        assert r.status_code == 404 and "belongs to a brand you cannot see" in body
        assert "merged" not in body and f"#{c}" not in body and "HX-Push-Url" not in r


def test_a_user_who_cannot_see_the_survivors_brand_gets_a_plain_404(acme, chain):
    a, _, c = chain
    Membership.objects.get(user=acme["users"]["analyst"]).brands.set([acme["brands"]["Acme Rail"]])
    r = client_of(acme["users"]["analyst"]).get(f"/c/{a}/")
    assert r.status_code == 404 and "merged" not in r.content.decode()
