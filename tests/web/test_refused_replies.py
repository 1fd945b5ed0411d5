"""A reply (or internal note) the server refuses — too long for the network, empty, a note over its limit — is
not created, and the agent's text is not lost: the pane comes back with the text, escaped, still in its box,
the reason beside it and the character counter showing its length. Both for the full page (no JavaScript)
and for the pane htmx swaps in."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox.inputs import NOTE_MAX_CHARS
from hubbub.inbox.models import Conversation, Note, Reply
from tests.inbox.test_merged_reply_drafts import note_box, reply_box

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script> Sorry & see </textarea><b>you</b> '
ESCAPED_EVIL = (
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Sorry &amp; see &lt;/textarea&gt;&lt;b&gt;you&lt;/b&gt; "
)
TOO_LONG = EVIL * 5  # 305 characters: over X's 280
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "thread-pane"}


@pytest.fixture
def conv(acme, make_event, ingest) -> Conversation:
    ingest(acme["org"], [make_event("my flight is late", author="mallory")])
    return Conversation.objects.get(author__handle="mallory")


@pytest.fixture
def agent(acme) -> Client:
    client = Client()
    client.force_login(acme["users"]["agent"])
    return client


def error_of(page: str, box: str) -> str:
    start = page.index(f'id="{box}-error"')
    return page[page.index(">", start) + 1 : page.index("</p>", start)]


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx-pane"])
def test_a_reply_too_long_for_the_network_stays_in_the_box_with_the_reason(agent, conv, htmx):
    r = agent.post(f"/c/{conv.pk}/reply/", {"text": TOO_LONG}, **(HTMX if htmx else {}))
    page = r.content.decode()
    assert r.status_code == 200 and (("<html" in page) is not htmx)
    assert reply_box(page) == ESCAPED_EVIL * 5  # all of it, exactly as typed, escaped
    assert "<script>alert" not in page
    assert error_of(page, "reply") == f"Too long for x: {len(TOO_LONG.strip())} characters, the limit is 280."
    assert 'aria-describedby="reply-error"' in page
    assert f'<span class="counter over" id="reply-counter">{len(TOO_LONG)} / 280</span>' in page
    assert note_box(page) == ""
    assert not Reply.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx-pane"])
def test_an_empty_reply_is_refused_with_its_reason(agent, conv, htmx):
    page = agent.post(f"/c/{conv.pk}/reply/", {"text": "  "}, **(HTMX if htmx else {})).content.decode()
    assert error_of(page, "reply") == "The reply is empty."
    assert not Reply.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx-pane"])
def test_a_note_over_its_limit_stays_in_the_note_box_with_the_reason(agent, conv, htmx):
    text = EVIL * (NOTE_MAX_CHARS // len(EVIL) + 1)
    page = agent.post(f"/c/{conv.pk}/note/", {"text": text}, **(HTMX if htmx else {})).content.decode()
    assert note_box(page) == ESCAPED_EVIL * (NOTE_MAX_CHARS // len(EVIL) + 1)
    assert error_of(page, "note") == (
        f"A note is at most {NOTE_MAX_CHARS:,} characters; this one has {len(text.strip()):,}. Shorten it or split it."
    )
    assert 'aria-describedby="note-error"' in page
    assert reply_box(page) == "" and 'id="reply-error"' not in page
    assert not Note.objects.exists()


def test_after_a_refusal_the_next_page_is_clean(agent, conv, django_capture_on_commit_callbacks):
    """The refusal is said once, beside the box: no stale error later, and a reply that fits is sent."""
    agent.post(f"/c/{conv.pk}/reply/", {"text": TOO_LONG}, **HTMX)
    page = agent.get(f"/c/{conv.pk}/").content.decode()
    assert "Too long" not in page and reply_box(page) == ""
    with django_capture_on_commit_callbacks(execute=True):
        r = agent.post(f"/c/{conv.pk}/reply/", {"text": "Sorry! DM us."}, **HTMX)
    assert r.status_code == 200 and reply_box(r.content.decode()) == ""
    assert Reply.objects.get().state == Reply.State.SENT
