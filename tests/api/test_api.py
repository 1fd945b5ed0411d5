"""REST API: token auth, list/get conversations and messages, reply, status and assignment."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.inbox.models import Conversation, Message
from hubbub.tenancy.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(acme, make_event, ingest):
    ingest(acme["org"], [make_event(f"msg {i}", author=f"user{i}") for i in range(5)])
    _, key = ApiToken.issue(acme["users"]["agent"], acme["org"].pk, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_requests_without_a_valid_token_are_rejected(acme):
    assert Client().get("/api/v1/conversations").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer nope").get("/api/v1/conversations").status_code == 401


def test_tokens_are_stored_hashed(acme):
    token, key = ApiToken.issue(acme["users"]["agent"], acme["org"].pk, "t")
    assert key not in token.key_hash and token.key_hash == ApiToken.hash_key(key)


def test_list_paginates_with_a_cursor(api):
    first = api.get("/api/v1/conversations?limit=2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(f"/api/v1/conversations?limit=2&cursor={first['next_cursor']}").json()
    ids = [c["id"] for c in first["items"]] + [c["id"] for c in second["items"]]
    assert len(set(ids)) == 4
    times = [c["last_message_at"] for c in first["items"] + second["items"]]
    assert times == sorted(times, reverse=True)


def test_get_messages_reply_and_change_status(api, acme, django_capture_on_commit_callbacks):
    conv = Conversation.objects.order_by("id").first()
    assert api.get(f"/api/v1/conversations/{conv.pk}").json()["preview"].startswith("msg")
    msgs = api.get(f"/api/v1/conversations/{conv.pk}/messages").json()
    assert msgs[0]["direction"] == "in" and msgs[0]["sentiment"]
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            f"/api/v1/conversations/{conv.pk}/replies", {"text": "We're on it"}, content_type="application/json"
        )
    assert r.status_code == 201 and r.json()["state"] == "approved"  # delivery runs after commit
    assert Message.objects.filter(conversation=conv, direction="out", text="We're on it").count() == 1
    r = api.patch(
        f"/api/v1/conversations/{conv.pk}",
        {"status": "resolved", "assignee_id": acme["users"]["agent"].pk},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert AuditEvent.objects.filter(verb="conversation.status").exists()


def test_reply_over_the_network_limit_is_refused(api):
    conv = Conversation.objects.first()
    r = api.post(f"/api/v1/conversations/{conv.pk}/replies", {"text": "x" * 281}, content_type="application/json")
    assert r.status_code == 400 and "280" in r.json()["detail"]


def test_agent_cannot_assign_to_someone_else_but_supervisor_can(acme, api):
    conv = Conversation.objects.first()
    other = acme["users"]["supervisor"].pk
    r = api.patch(f"/api/v1/conversations/{conv.pk}", {"assignee_id": other}, content_type="application/json")
    assert r.status_code == 403
    _, key = ApiToken.issue(acme["users"]["supervisor"], acme["org"].pk, "s")
    sup = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    r = sup.patch(
        f"/api/v1/conversations/{conv.pk}", {"assignee_id": acme["users"]["agent"].pk}, content_type="application/json"
    )
    assert r.status_code == 200


def test_analyst_cannot_reply(acme, api):
    conv = Conversation.objects.first()
    _, key = ApiToken.issue(acme["users"]["analyst"], acme["org"].pk, "a")
    r = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        f"/api/v1/conversations/{conv.pk}/replies", {"text": "hi"}, content_type="application/json"
    )
    assert r.status_code == 403


def test_openapi_spec_and_docs_are_served(db):
    spec = Client().get("/api/openapi.json").json()
    assert "/api/v1/conversations" in spec["paths"]
    assert Client().get("/api/docs").status_code == 200
