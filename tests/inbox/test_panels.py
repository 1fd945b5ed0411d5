"""The panels beside a conversation's thread come from the apps above the inbox (`inbox.panels`): crm
registers the customer panel in its AppConfig.ready; with no panel registered the thread still renders."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox import panels
from hubbub.inbox.models import Conversation

pytestmark = pytest.mark.django_db


def open_thread(acme, make_event, ingest) -> str:  # type: ignore[no-untyped-def]
    ingest(acme["org"], [make_event("@AcmeAir my bag is lost", author="ann")])
    client = Client()
    client.force_login(acme["users"]["agent"])
    conv = Conversation.objects.get(author__handle="ann")
    response = client.get(f"/c/{conv.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_crm_adds_the_customer_panel_when_the_app_loads() -> None:
    assert [(p.name, p.template) for p in panels.conversation_panels()] == [
        ("crm_customer", "crm/_customer_panel.html")
    ]


def test_the_thread_shows_the_customer_panel(acme, make_event, ingest) -> None:  # type: ignore[no-untyped-def]
    assert 'id="crm-panel"' in open_thread(acme, make_event, ingest)


def test_without_panels_the_thread_still_renders(acme, make_event, ingest, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(panels, "_panels", {})
    body = open_thread(acme, make_event, ingest)
    assert 'id="thread"' in body and 'id="reply-text"' in body
    assert 'id="crm-panel"' not in body


def test_a_registered_panel_gets_its_context(acme, make_event, ingest, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(panels, "_panels", {})
    seen: list[int] = []

    def context(scope, conversation):  # type: ignore[no-untyped-def]
        seen.append(conversation.pk)
        return {"crm_customer": None, "crm_conversation": conversation}

    panels.register_conversation_panel("x", "crm/_customer_panel.html", context)
    panels.register_conversation_panel("x", "crm/_customer_panel.html", context)  # again: replaced, not added
    body = open_thread(acme, make_event, ingest)
    assert body.count('id="crm-panel"') == 1 and len(seen) == 1
