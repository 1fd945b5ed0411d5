"""The API on a conversation that was merged into another: 404 with `merged_into` for those who may see it."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.inbox.models import Conversation, Reply
from hubbub.tenancy.models import Membership
from tests.inbox.merges import merged_chain

pytestmark = pytest.mark.django_db


def token_client(user, org) -> Client:  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user, org.pk, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_every_conversation_endpoint_names_the_survivor(acme, make_event, ingest):
    a, b, c = merged_chain(acme["org"], make_event, ingest)
    api = token_client(acme["users"]["agent"], acme["org"])
    expected = {"detail": f"This conversation was merged into conversation {c}.", "merged_into": c}
    for r in (
        api.get(f"/api/v1/conversations/{a}"),
        api.get(f"/api/v1/conversations/{b}"),
        api.get(f"/api/v1/conversations/{a}/messages"),
        api.post(f"/api/v1/conversations/{a}/replies", {"text": "hi"}, content_type="application/json"),
        api.patch(f"/api/v1/conversations/{a}", {"status": "resolved"}, content_type="application/json"),
        api.get(f"/api/v1/workflow/conversations/{a}/sla"),
    ):
        assert (r.status_code, r.json()) == (404, expected)
    assert not Reply.objects.exists() and Conversation.objects.get(pk=c).status == "open"  # nothing replayed
    assert api.get(f"/api/v1/conversations/{c}").json()["id"] == c


def test_callers_who_cannot_see_the_survivor_get_the_plain_404(make_org, acme, make_event, ingest):
    a, _, _ = merged_chain(acme["org"], make_event, ingest)
    globex = make_org("globex")
    outsider = token_client(globex["users"]["admin"], globex["org"])
    Membership.objects.get(user=acme["users"]["analyst"]).brands.set([acme["brands"]["Acme Rail"]])
    rail_only = token_client(acme["users"]["analyst"], acme["org"])
    for api in (outsider, rail_only):
        never = api.get("/api/v1/conversations/999999")
        for r in (
            api.get(f"/api/v1/conversations/{a}"),
            api.get(f"/api/v1/conversations/{a}/messages"),
            api.get(f"/api/v1/workflow/conversations/{a}/sla"),
        ):
            assert (r.status_code, r.json()) == (404, never.json()) and "merged_into" not in r.json()


def test_the_openapi_spec_documents_merged_into(db):
    spec = Client().get("/api/openapi.json").json()
    assert "merged_into" in spec["components"]["schemas"]["NotFoundOut"]["properties"]
