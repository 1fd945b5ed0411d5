"""A reply (or internal note) written in a conversation that was merged away meanwhile is not sent, and not
lost either: the survivor's page shows it, escaped, in its reply (note) box with a notice (through the HTTP
views)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from hubbub.inbox.drafts import DRAFT_MAX_CHARS
from hubbub.inbox.models import Message, Reply
from hubbub.workflow.inputs import ApprovalPolicyIn
from hubbub.workflow.services.policies import save_approval_policy
from tests.inbox.merges import merged_chain

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script> Sorry & see </textarea><b>you</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Sorry &amp; see &lt;/textarea&gt;&lt;b&gt;you&lt;/b&gt;"


def notice(survivor: int) -> str:
    return (
        f"This conversation was merged into #{survivor} while you were writing; your reply was not sent. "
        "Review it below and send."
    )


def note_notice(survivor: int) -> str:
    return (
        f"This conversation was merged into #{survivor} while you were writing; your note was not added. "
        "Review it below and add it."
    )


def client_of(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def reply_box(page: str) -> str:
    """The text inside the reply composer's textarea."""
    start = page.index('id="reply-text"')
    return page[page.index(">", start) + 1 : page.index("</textarea>", start)]


def note_box(page: str) -> str:
    """The text inside the internal note's textarea."""
    start = page.index('id="note-text"')
    return page[page.index(">", start) + 1 : page.index("</textarea>", start)]


def htmx_post(user, url: str, text: str, survivor: int) -> str:  # type: ignore[no-untyped-def]
    """Post `text` from a form of the thread pane (htmx) to a merged id: the survivor's pane, its URL pushed."""
    r = client_of(user).post(url, {"text": text}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane")
    body = r.content.decode()
    assert r.status_code == 200 and "<html" not in body and r["HX-Push-Url"] == f"/c/{survivor}/"
    return body


def nothing_was_sent(settings) -> bool:  # type: ignore[no-untyped-def]
    sink = Path(settings.OUTBOUND_SINK_DIR)
    return (
        not Reply.objects.exists()
        and not Message.objects.filter(direction="out").exists()
        and not (sink.exists() and any(sink.iterdir()))
    )


@pytest.fixture
def chain(acme, make_event, ingest) -> tuple[int, int, int]:
    return merged_chain(acme["org"], make_event, ingest)


def test_a_reply_posted_to_a_merged_id_waits_escaped_in_the_survivors_reply_box(
    acme, chain, settings, django_capture_on_commit_callbacks
):
    a, _, c = chain
    agent = client_of(acme["users"]["agent"])
    with django_capture_on_commit_callbacks(execute=True):  # a reply would be delivered to the sink
        r = agent.post(f"/c/{a}/reply/", {"text": f"  {EVIL}\n"})
    assert r.status_code == 302 and r["Location"] == f"/c/{c}/"
    assert nothing_was_sent(settings)
    assert f"/c/{a}/" not in r["Location"] and "alert" not in r["Location"]  # the text is not in the URL

    page = agent.get(r["Location"]).content.decode()
    assert f'data-conversation="{c}"' in page
    assert notice(c) in page and "Nothing was changed" not in page
    assert reply_box(page) == ESCAPED
    assert "<script>alert" not in page and "<b>you</b>" not in page
    assert nothing_was_sent(settings)

    # Shown once: the draft is not put into the box again on the next visit, nor for another agent.
    again = agent.get(f"/c/{c}/").content.decode()
    assert reply_box(again) == "" and notice(c) not in again
    other = client_of(acme["users"]["supervisor"])
    agent.post(f"/c/{a}/reply/", {"text": "Only mine"})
    assert reply_box(other.get(f"/c/{c}/").content.decode()) == ""
    assert reply_box(agent.get(f"/c/{c}/").content.decode()) == "Only mine"

    # Sending it from the survivor is the normal reply path.
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(f"/c/{c}/reply/", {"text": "Only mine"})
    assert list(Reply.objects.values_list("conversation_id", "state")) == [(c, Reply.State.SENT)]


def test_the_htmx_composer_gets_the_survivors_thread_with_the_draft(acme, chain, settings):
    a, _, c = chain
    body = htmx_post(acme["users"]["agent"], f"/c/{a}/reply/", EVIL, c)
    assert f'data-conversation="{c}"' in body and body.count(notice(c)) == 1
    assert reply_box(body) == ESCAPED and "<script>alert" not in body
    assert nothing_was_sent(settings)


def test_an_empty_reply_or_another_action_is_only_redirected(acme, chain, settings):
    a, _, c = chain
    agent = client_of(acme["users"]["agent"])
    r = agent.post(f"/c/{a}/reply/", {"text": "   "}, follow=True)
    page = r.content.decode()
    assert "Nothing was changed" in page and reply_box(page) == ""
    r = agent.post(f"/c/{a}/status/", {"status": "resolved"}, follow=True)
    assert reply_box(r.content.decode()) == "" and note_box(r.content.decode()) == ""
    assert nothing_was_sent(settings)


@pytest.mark.parametrize("form", ["reply", "note"])
def test_the_draft_is_cut_to_the_size_limit(acme, chain, settings, form):  # type: ignore[no-untyped-def]
    a, _, c = chain
    agent = client_of(acme["users"]["agent"])
    agent.post(f"/c/{a}/{form}/", {"text": "y" * (DRAFT_MAX_CHARS + 5000)})
    page = agent.get(f"/c/{c}/").content.decode()
    assert {"reply": reply_box, "note": note_box}[form](page) == "y" * DRAFT_MAX_CHARS
    assert f"It was cut to its first {DRAFT_MAX_CHARS} characters." in page
    assert nothing_was_sent(settings)


def test_a_reply_that_needs_approval_is_neither_sent_nor_held_but_carried_over(acme, chain, scope_of, settings):
    save_approval_policy(
        scope_of(acme["users"]["supervisor"]), ApprovalPolicyIn(name="refunds", sensitive_words=["refund"])
    )
    a, _, c = chain
    agent = client_of(acme["users"]["agent"])
    agent.post(f"/c/{a}/reply/", {"text": "A refund is on its way."})
    assert nothing_was_sent(settings)  # not queued for approval on the merged id either
    assert reply_box(agent.get(f"/c/{c}/").content.decode()) == "A refund is on its way."
    agent.post(f"/c/{c}/reply/", {"text": "A refund is on its way."})
    assert list(Reply.objects.values_list("conversation_id", "state")) == [(c, Reply.State.PENDING_APPROVAL)]


def test_bulk_reply_carries_the_text_to_survivors_that_were_not_ticked(
    acme, chain, make_event, ingest, settings, django_capture_on_commit_callbacks
):
    from hubbub.inbox.models import Conversation

    a, b, c = chain
    ingest(acme["org"], [make_event("@AcmeAir dan here", author="dan")])
    d = Conversation.objects.get(author__handle="dan").pk
    agent = client_of(acme["users"]["agent"])
    with django_capture_on_commit_callbacks(execute=True):
        r = agent.post("/bulk-reply/", {"conversation_ids": [a, b, d], "text": EVIL, "next": "/"})
    assert list(Reply.objects.values_list("conversation_id", flat=True)) == [d]  # not on the merged ids
    said = [str(m) for m in get_messages(r.wsgi_request)]
    assert "Replied on 1 conversations." in said
    assert any(m.startswith(f"#{a}, #{b} were merged into #{c}") and "not sent there" in m for m in said)
    page = agent.get(f"/c/{c}/").content.decode()
    assert reply_box(page) == ESCAPED and notice(c) in page
    assert not Reply.objects.filter(conversation_id=c).exists()

    # A survivor ticked along with its merged id just gets the reply, once.
    Reply.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        agent.post("/bulk-reply/", {"conversation_ids": [a, c], "text": "Checking", "next": "/"})
    assert list(Reply.objects.values_list("conversation_id", flat=True)) == [c]
    assert reply_box(agent.get(f"/c/{c}/").content.decode()) == ""


def test_a_reply_made_just_before_the_merge_is_not_offered_again(acme, make_event, ingest, monkeypatch):
    from hubbub.inbox import views as inbox_views
    from hubbub.inbox.merging import MergePair, merge_conversations
    from hubbub.inbox.models import Conversation

    ingest(acme["org"], [make_event(f"@AcmeAir {who} here", author=who) for who in ("bob", "cat")])
    b, c = (Conversation.objects.get(author__handle=who).pk for who in ("bob", "cat"))
    create = inbox_views.do_create_reply

    def create_then_merge(scope, conv, text, origin, **kwargs):  # type: ignore[no-untyped-def]
        made = create(scope, conv, text, origin, **kwargs)
        merge_conversations(acme["org"].pk, [MergePair(c, b)], reason="parent arrived meanwhile")
        return made

    monkeypatch.setattr(inbox_views, "do_create_reply", create_then_merge)
    r = client_of(acme["users"]["agent"]).post(
        f"/c/{b}/reply/", {"text": "On it!"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane"
    )
    body = r.content.decode()
    assert f'data-conversation="{c}"' in body and reply_box(body) == ""
    assert "Nothing was changed" not in body and "your reply was not sent" not in body
    assert list(Reply.objects.values_list("conversation_id", "text")) == [(c, "On it!")]


def test_a_note_posted_to_a_merged_id_waits_escaped_in_the_survivors_note_box(acme, chain, settings):
    from hubbub.inbox.models import Note

    a, _, c = chain
    agent = client_of(acme["users"]["agent"])
    r = agent.post(f"/c/{a}/note/", {"text": f"  {EVIL}\n"})
    assert r.status_code == 302 and r["Location"] == f"/c/{c}/" and "alert" not in r["Location"]
    assert not Note.objects.exists()  # not added to the merged id, nor to the survivor unseen

    page = agent.get(r["Location"]).content.decode()
    assert note_box(page) == ESCAPED and note_notice(c) in page
    assert reply_box(page) == "" and notice(c) not in page and "Nothing was changed" not in page
    assert "<script>alert" not in page and "<b>you</b>" not in page
    again = agent.get(f"/c/{c}/").content.decode()  # shown once
    assert note_box(again) == "" and note_notice(c) not in again

    agent.post(f"/c/{c}/note/", {"text": "Checked the merged thread"})
    assert list(Note.objects.values_list("conversation_id", "text")) == [(c, "Checked the merged thread")]
    assert nothing_was_sent(settings)


def test_a_reply_and_a_note_for_the_same_survivor_do_not_overwrite_each_other(acme, chain, settings):
    a, b, c = chain
    agent = client_of(acme["users"]["agent"])
    agent.post(f"/c/{a}/reply/", {"text": "The reply"})
    agent.post(f"/c/{b}/note/", {"text": "The note"})
    agent.post(f"/c/{a}/note/", {"text": "A second note"})  # same kind, same survivor: appended
    page = agent.get(f"/c/{c}/").content.decode()
    assert reply_box(page) == "The reply" and notice(c) in page
    assert note_box(page) == "The note\n\nA second note" and note_notice(c) in page
    assert nothing_was_sent(settings)


def test_the_htmx_note_form_gets_the_survivors_thread_with_the_note_draft(acme, chain, settings):
    a, _, c = chain
    body = htmx_post(acme["users"]["agent"], f"/c/{a}/note/", EVIL, c)
    assert f'data-conversation="{c}" data-merged-from="{a}"' in body  # the browser carries the other boxes
    assert body.count(note_notice(c)) == 1 and note_box(body) == ESCAPED and reply_box(body) == ""
    assert "<script>alert" not in body
