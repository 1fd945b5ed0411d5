"""One organisation can never read or change another's data, by URL or by API."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import Brand, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs(make_org, make_event, ingest):
    a = make_org("alpha", brands=("Alpha Air",))
    b = make_org("beta", brands=("Beta Bank",))
    ingest(a["org"], [make_event("alpha secret", brand="alpha-air", author="a1")])
    ingest(b["org"], [make_event("beta secret", brand="beta-bank", author="b1")])
    return a, b


def test_agent_gets_404_for_another_orgs_conversation_by_url(two_orgs):
    a, b = two_orgs
    other = Conversation.objects.get(organization=b["org"])
    client = Client()
    client.force_login(a["users"]["agent"])
    assert client.get(f"/c/{other.pk}/").status_code == 404
    assert client.post(f"/c/{other.pk}/status/", {"status": "resolved"}).status_code == 404
    assert client.post(f"/c/{other.pk}/reply/", {"text": "hi"}).status_code == 404
    other.refresh_from_db()
    assert other.status == "open" and other.replies.count() == 0
    page = client.get("/").content.decode()
    assert "alpha secret" in page and "beta secret" not in page


def test_agent_gets_404_for_another_orgs_conversation_by_api(two_orgs):
    a, b = two_orgs
    other = Conversation.objects.get(organization=b["org"])
    _, key = ApiToken.issue(a["users"]["agent"], a["org"].pk, "t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(f"/api/v1/conversations/{other.pk}").status_code == 404
    assert client.get(f"/api/v1/conversations/{other.pk}/messages").status_code == 404
    r = client.post(f"/api/v1/conversations/{other.pk}/replies", {"text": "x"}, content_type="application/json")
    assert r.status_code == 404
    listed = client.get("/api/v1/conversations").json()["items"]
    assert [c["preview"] for c in listed] == ["alpha secret"]


def test_brand_restricted_member_sees_only_their_brands(make_org, make_event, ingest):
    a = make_org("gamma", brands=("G One", "G Two"))
    ingest(a["org"], [make_event("one", brand="g-one", author="u1"), make_event("two", brand="g-two", author="u2")])
    m = Membership.objects.get(user=a["users"]["agent"])
    m.brands.set([Brand.objects.get(slug="g-one")])
    client = Client()
    client.force_login(a["users"]["agent"])
    hidden = Conversation.objects.get(brand__slug="g-two")
    assert client.get(f"/c/{hidden.pk}/").status_code == 404
    body = client.get("/").content.decode()
    assert "one" in body and ">two<" not in body


def test_user_without_membership_gets_a_clear_403(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("loner", password="pw-12345678")
    client = Client()
    client.force_login(user)
    r = client.get("/")
    assert r.status_code == 403
    assert b"not a member" in r.content
