"""The server side of "nothing fails silently": the thread offers an analyst no control their role cannot use,
a refused htmx action answers with a short reason app.js shows as a toast, and /api/docs needs no CDN."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox.models import Conversation

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def conv(acme, make_event, ingest):  # type: ignore[no-untyped-def]
    ingest(acme["org"], [make_event("my flight is late", author="mallory")])
    return Conversation.objects.get(organization=acme["org"])


def client_of(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_an_analyst_sees_the_thread_without_controls(acme, conv):  # type: ignore[no-untyped-def]
    body = client_of(acme["users"]["analyst"]).get(f"/c/{conv.pk}/").content.decode()
    assert "@mallory" in body and "need the agent role" in body
    for control in (
        "Send reply",
        ">Resolve<",
        ">Assign<",
        ">Me<",
        ">Add note<",
        'id="reply-text"',
        f"/c/{conv.pk}/note/",
    ):
        assert control not in body, control


def test_an_agent_is_offered_only_themselves_as_assignee(acme, conv):  # type: ignore[no-untyped-def]
    body = client_of(acme["users"]["agent"]).get(f"/c/{conv.pk}/").content.decode()
    assert "Send reply" in body and ">Add note<" in body
    assert ">acme-agent</option>" in body and ">acme-supervisor</option>" not in body
    body = client_of(acme["users"]["supervisor"]).get(f"/c/{conv.pk}/").content.decode()
    assert ">acme-agent</option>" in body and ">acme-supervisor</option>" in body


def test_a_refused_htmx_action_answers_with_its_reason(acme, conv):  # type: ignore[no-untyped-def]
    agent = client_of(acme["users"]["agent"])
    r = agent.post(f"/c/{conv.pk}/assign/", {"assignee_id": acme["users"]["supervisor"].pk}, **HTMX)
    assert r.status_code == 403 and r["Content-Type"].startswith("text/plain")
    assert r.content.decode() == "Not allowed: Agents can assign conversations only to themselves."
    analyst = client_of(acme["users"]["analyst"])
    r = analyst.post(f"/c/{conv.pk}/reply/", {"text": "hello"}, **HTMX)
    assert r.status_code == 403 and "needs the agent role" in r.content.decode()
    conv.refresh_from_db()
    assert conv.assignee_id is None and not conv.replies.exists()


def test_a_refused_full_page_request_still_gets_the_error_page(acme, conv):  # type: ignore[no-untyped-def]
    r = client_of(acme["users"]["analyst"]).post(f"/c/{conv.pk}/note/", {"text": "x"})
    assert r.status_code == 403 and "<html" in r.content.decode() and "Not allowed" in r.content.decode()


def test_a_missing_conversation_says_so_to_htmx(acme):  # type: ignore[no-untyped-def]
    r = client_of(acme["users"]["agent"]).post("/c/999999/assign/", {"assignee_id": acme["users"]["agent"].pk}, **HTMX)
    assert r.status_code == 404 and r.content.decode().startswith("Not found:")


def test_api_docs_load_swagger_ui_from_our_own_static_files(acme):  # type: ignore[no-untyped-def]
    body = client_of(acme["users"]["agent"]).get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in body and "/static/ninja/swagger-ui.css" in body
    assert "cdn" not in body.lower() and "https://" not in body
