"""Bulk reply from the inbox: tick conversations, write one reply, each goes through the normal
reply path (approval included); conversations outside the agent's organisation are never touched."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from hubbub.inbox.models import Reply
from hubbub.workflow import services

pytestmark = pytest.mark.django_db


def _agent(acme):  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(acme["users"]["agent"])
    return c


def test_the_inbox_offers_a_bulk_reply_for_ticked_conversations(acme, make_conv):
    make_conv("my bag is lost")
    page = _agent(acme).get("/")
    assert b'id="bulk-form"' in page.content and b'class="pick"' in page.content


def test_one_reply_on_each_ticked_conversation(acme, make_conv, make_org, django_capture_on_commit_callbacks):
    a, b = make_conv("bag lost"), make_conv("bag lost too")
    other_org = make_org("other")
    foreign = make_conv("not yours", org=other_org["org"], brand=next(iter(other_org["brands"])))
    with django_capture_on_commit_callbacks(execute=True):
        r = _agent(acme).post(
            "/bulk-reply/",
            {
                "conversation_ids": [a.pk, b.pk, foreign.pk],
                "text": "We are tracing all bags from flight 12.",
                "next": "/",
            },
        )
    assert r.status_code == 302 and r["Location"] == "/"
    replied = set(Reply.objects.values_list("conversation_id", flat=True))
    assert replied == {a.pk, b.pk}
    assert set(Reply.objects.values_list("state", flat=True)) == {Reply.State.SENT}
    assert "Replied on 2 conversations." in [str(m) for m in get_messages(r.wsgi_request)]


def test_approval_policies_hold_bulk_replies_and_errors_are_said(acme, make_conv, scopes):
    services.save_approval_policy(scopes["supervisor"], {"name": "refunds", "sensitive_words": ["refund"]})
    conv = make_conv("refund please")
    c = _agent(acme)
    r = c.post("/bulk-reply/", {"conversation_ids": [conv.pk], "text": "A refund is on its way."})
    assert Reply.objects.get().state == Reply.State.PENDING_APPROVAL
    assert "held for approval" in " ".join(str(m) for m in get_messages(r.wsgi_request))
    r = c.post("/bulk-reply/", {"text": "hello"})
    assert "Tick the conversations" in " ".join(str(m) for m in get_messages(r.wsgi_request))
    r = c.post("/bulk-reply/", {"conversation_ids": [conv.pk], "text": "x" * 400})
    assert "Not sent" in " ".join(str(m) for m in get_messages(r.wsgi_request))
    assert Reply.objects.count() == 1
