"""Notices of htmx actions ("Reply to @ana sent.") arrive with the partial response that answers the action, in
its HX-Trigger header, and are consumed there: they never pile up and appear, stale, on the next full page.
Without JavaScript (plain form posts) they are shown on the page the redirect leads to, as before."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hubbub.inbox.models import Conversation, Message, Reply

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "thread-pane"}


@pytest.fixture
def conv(acme, make_event, ingest) -> Conversation:
    # a handle that is not Latin-1 and tries to break out of the header and the markup
    ingest(acme["org"], [make_event("my flight is late", author="zoë_😀<b>")])
    return Conversation.objects.get()


@pytest.fixture
def agent(acme) -> Client:
    client = Client()
    client.force_login(acme["users"]["agent"])
    return client


def events(response) -> dict[str, object]:  # type: ignore[no-untyped-def]
    header = response["HX-Trigger"]
    assert header.isascii()  # JSON escapes: any customer name fits in a header
    return json.loads(header)


def notices(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    batch = events(response).get("hubbub:notices")
    if batch is None:
        return []
    assert isinstance(batch, dict) and len(batch["id"]) == 32
    return [(n["level"], n["text"]) for n in batch["notices"]]


def flash(page: str) -> str:
    """The layout's message area of a full page ("" when there is none)."""
    if '<div class="flash" role="status">' not in page:
        return ""
    start = page.index('<div class="flash" role="status">')
    return page[start : page.index("</div>", start)]


def test_a_reply_sent_from_the_pane_says_so_in_its_response_and_not_again_later(
    agent, conv, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = agent.post(f"/c/{conv.pk}/reply/", {"text": "Sorry! DM us."}, **HTMX)
    assert r.status_code == 200 and "<html" not in r.content.decode()
    assert notices(r) == [("success", "Reply to @zoë_😀<b> sent.")]  # textContent on the client: never HTML
    assert "conversation-changed" in events(r)  # the event the pane's answer always had
    for url in ("/", f"/c/{conv.pk}/"):
        assert "Reply to" not in flash(agent.get(url).content.decode())


def test_every_pane_action_hands_over_its_notice(agent, acme, conv):
    r = agent.post(f"/c/{conv.pk}/status/", {"status": "resolved"}, **HTMX)
    assert notices(r) == [("success", "Marked resolved.")]
    r = agent.post(f"/c/{conv.pk}/status/", {"status": "nonsense"}, **HTMX)
    assert [level for level, _ in notices(r)] == ["error"]
    r = agent.post(f"/c/{conv.pk}/assign/", {"assignee_id": acme["users"]["agent"].pk}, **HTMX)
    assert notices(r) == [("success", "Assignment saved.")]
    message = Message.objects.get()
    r = agent.post(f"/messages/{message.pk}/labels/", {"sentiment": "positive"}, **HTMX)
    assert notices(r) == [("success", "Corrected sentiment.")]
    assert flash(agent.get("/").content.decode()) == ""  # none of them waits for the next page


def test_an_htmx_answer_without_a_notice_has_none(agent, conv):
    r = agent.post(f"/c/{conv.pk}/note/", {"text": "VIP"}, **HTMX)
    assert notices(r) == [] and "conversation-changed" in events(r)
    r = agent.get(f"/c/{conv.pk}/", **HTMX)
    assert "HX-Trigger" not in r


def test_without_javascript_the_notice_is_on_the_next_page_once(agent, conv, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = agent.post(f"/c/{conv.pk}/reply/", {"text": "Sorry! DM us."})
    assert r.status_code == 302 and "HX-Trigger" not in r
    assert "Reply to @zoë_😀&lt;b&gt; sent." in flash(agent.get(r["Location"]).content.decode())
    assert flash(agent.get(r["Location"]).content.decode()) == ""


def test_a_notice_left_by_a_plain_request_goes_with_the_next_htmx_answer(agent, conv):
    """A notice waiting in the session (a plain post whose page was never loaded) is not left to surface
    later either: the next htmx answer takes it."""
    agent.post(f"/c/{conv.pk}/status/", {"status": "pending"})  # redirect not followed
    r = agent.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="conversation-list")
    assert notices(r) == [("success", "Marked pending.")]
    assert flash(agent.get("/").content.decode()) == ""


def test_a_refused_reply_names_the_customer_for_an_agent_who_moved_on(agent, conv):
    r = agent.post(f"/c/{conv.pk}/reply/", {"text": "x" * 300}, **HTMX)
    refused = events(r)["hubbub:refused"]
    assert refused == {
        "box": "reply",
        "text": "Your reply to @zoë_😀<b> was not sent: Too long for x: 300 characters, the limit is 280. "
        "It waits in its box.",
    }
    assert notices(r) == [] and not Reply.objects.exists()


def test_an_action_on_a_merged_conversation_says_it_was_not_applied(acme, make_event, ingest, agent):
    """For an agent who moved on before the answer came, app.js keeps the text and shows this instead."""
    from tests.inbox.merges import merged_chain

    a, _, c = merged_chain(acme["org"], make_event, ingest)
    r = agent.post(f"/c/{a}/reply/", {"text": "On it!"}, **HTMX)
    assert events(r)["hubbub:refused"] == {
        "box": "reply",
        "text": f"#{a} was merged into #{c}; your reply was not sent. It waits in its box.",
    }
    r = agent.post(f"/c/{a}/status/", {"status": "resolved"}, **HTMX)
    assert events(r)["hubbub:refused"] == {"box": None, "text": f"#{a} was merged into #{c}; nothing was changed."}
    assert "HX-Trigger" not in agent.get(f"/c/{a}/", **HTMX)  # only showing the survivor: nothing refused
    assert not Reply.objects.exists()
