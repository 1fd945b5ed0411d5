"""The inbox as an agent uses it: list, filters, open, reply, status, assign, notes, tags, escaping."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox.models import Conversation, Message, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(acme, make_event, ingest):
    ingest(
        acme["org"],
        [
            make_event("<script>alert('x')</script> my flight is late, terrible", author="mallory"),
            make_event("lovely crew, thank you", author="trent"),
            make_event("rail delays again", brand="acme-rail", author="peggy"),
        ],
    )
    client = Client()
    client.force_login(acme["users"]["agent"])
    return client


def test_login_is_required(db):
    r = Client().get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_inbox_lists_conversations_with_badges_and_escapes_user_text(agent):
    body = agent.get("/").content.decode()
    assert "@mallory" in body and "@trent" in body
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body
    assert "s-negative" in body and "s-positive" in body


def test_filters_by_brand_sentiment_and_text(agent, acme):
    rail = acme["brands"]["Acme Rail"]
    body = agent.get(f"/?brand={rail.pk}").content.decode()
    assert "@peggy" in body and "@trent" not in body
    body = agent.get("/?sentiment=positive").content.decode()
    assert "@trent" in body and "@mallory" not in body
    body = agent.get("/?q=crew").content.decode()
    assert "@trent" in body and "@peggy" not in body
    body = agent.get("/?q=nothing-matches-this").content.decode()
    assert "Nothing matches these filters" in body


def test_brand_switcher_narrows_the_inbox(agent, acme):
    rail = acme["brands"]["Acme Rail"]
    agent.post("/brand/", {"brand": rail.pk, "next": "/"})
    body = agent.get("/").content.decode()
    assert "@peggy" in body and "@trent" not in body


def test_open_reply_resolve_assign_note_and_tag(agent, acme, django_capture_on_commit_callbacks):
    conv = Conversation.objects.get(author__handle="mallory")
    page = agent.get(f"/c/{conv.pk}/").content.decode()
    assert "Reply to @mallory" in page and "&lt;script&gt;" in page
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(f"/c/{conv.pk}/reply/", {"text": "So sorry! DM us your booking."})
    out = Message.objects.get(conversation=conv, direction="out")
    assert out.text == "So sorry! DM us your booking." and out.sent_by == acme["users"]["agent"]
    conv.refresh_from_db()
    assert conv.first_response_at is not None and conv.sla_due_at is None
    agent.post(f"/c/{conv.pk}/assign/", {"assignee_id": acme["users"]["agent"].pk, "team_id": acme["team"].pk})
    agent.post(f"/c/{conv.pk}/note/", {"text": "VIP, handle with care"})
    agent.post(f"/c/{conv.pk}/tags/", {"tags": "Delay, vip"})
    agent.post(f"/c/{conv.pk}/status/", {"status": "resolved"})
    conv.refresh_from_db()
    assert conv.status == "resolved" and conv.resolved_at is not None
    assert conv.assignee == acme["users"]["agent"] and conv.team == acme["team"]
    assert sorted(conv.tags.values_list("name", flat=True)) == ["delay", "vip"]
    page = agent.get(f"/c/{conv.pk}/").content.decode()
    assert "VIP, handle with care" in page and "So sorry! DM us" in page


def test_htmx_requests_get_partials(agent):
    conv = Conversation.objects.first()
    r = agent.get(f"/c/{conv.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane")
    assert b"<html" not in r.content and b"composer" in r.content
    r = agent.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="conversation-list")
    assert b"<html" not in r.content and b"conv-row" in r.content


def test_empty_reply_and_too_long_reply_show_errors_and_send_nothing(agent):
    conv = Conversation.objects.first()
    r = agent.post(f"/c/{conv.pk}/reply/", {"text": "   "}, follow=True)
    assert b"The reply is empty" in r.content
    r = agent.post(f"/c/{conv.pk}/reply/", {"text": "x" * 300}, follow=True)
    assert b"limit is 280" in r.content
    assert Reply.objects.count() == 0


def test_analyst_cannot_change_a_conversation(acme, agent):
    conv = Conversation.objects.first()
    analyst = Client()
    analyst.force_login(acme["users"]["analyst"])
    r = analyst.post(f"/c/{conv.pk}/status/", {"status": "resolved"})
    assert r.status_code == 403
    conv.refresh_from_db()
    assert conv.status == "open"


def test_pagination_walks_every_conversation_once(acme, make_event, ingest):
    ingest(acme["org"], [make_event(f"m{i}", author=f"p{i}") for i in range(120)])
    client = Client()
    client.force_login(acme["users"]["agent"])
    seen: list[str] = []
    url = "/"
    import re

    while url:
        body = client.get(url).content.decode()
        seen += re.findall(r'data-id="(\d+)"', body)
        nxt = re.search(r'class="more" href="([^"]+)"', body)
        url = "/" + nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert len(seen) == 120 and len(set(seen)) == 120


def test_quarantine_page_is_for_supervisors(acme, agent):
    assert agent.get("/quarantine/").status_code == 403
    sup = Client()
    sup.force_login(acme["users"]["supervisor"])
    assert b"Quarantine" in sup.get("/quarantine/").content


def test_error_pages_explain(agent):
    r = agent.get("/c/999999/")
    assert r.status_code == 404 and b"belongs to a brand you cannot see" in r.content
