"""Bulk reply from the inbox: tick conversations, write one reply, send. All or nothing, like the API's
`POST /api/v1/workflow/bulk-replies`: every ticked conversation is checked first; either each gets its reply
(through the normal path, approval included) or none does, and then the inbox comes back with the text as
typed, the ticks, and the reason beside each conversation concerned. No conversation ever gets it twice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from hubbub.inbox.models import Conversation, Reply
from hubbub.workflow.inputs import ApprovalPolicyIn
from hubbub.workflow.services import bulk
from hubbub.workflow.services.bulk import BULK_REPLY_LIMIT
from hubbub.workflow.services.policies import save_approval_policy

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script> Sorry & see </textarea><b>you</b> '
ESCAPED_EVIL = (
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Sorry &amp; see &lt;/textarea&gt;&lt;b&gt;you&lt;/b&gt; "
)


def _agent(acme):  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(acme["users"]["agent"])
    return c


def bulk_box(page: str) -> str:
    """The text inside the bulk reply's textarea."""
    start = page.index('id="bulk-text"')
    return page[page.index(">", start) + 1 : page.index("</textarea>", start)]


def ticked(page: str) -> set[int]:
    """The conversation ids whose bulk-reply box is ticked on the page."""
    boxes = re.findall(r'<input type="checkbox" class="pick" name="conversation_ids" value="(\d+)"[^>]*>', page)
    checked = re.findall(
        r'<input type="checkbox" class="pick" name="conversation_ids" value="(\d+)"[^>]* checked', page
    )
    assert set(checked) <= set(boxes)
    return {int(i) for i in checked}


def reason_beside(page: str, conv_id: int) -> str:
    """The refusal reason shown in the conversation's row of the list."""
    m = re.search(rf'<p class="bulk-why error small" data-for="{conv_id}">(.*?)</p>', page, re.S)
    return m.group(1) if m else ""


def reason_listed(page: str, conv_id: int) -> str:
    """The refusal reason listed in the bulk form."""
    m = re.search(rf'<li data-id="{conv_id}"><strong>(.*?)</strong>: (.*?)</li>', page, re.S)
    return f"{m.group(1)}: {m.group(2)}" if m else ""


def said(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_inbox_offers_a_bulk_reply_for_ticked_conversations(acme, make_conv):
    make_conv("my bag is lost")
    page = _agent(acme).get("/").content.decode()
    assert 'id="bulk-form"' in page and 'class="pick"' in page
    assert 'id="bulk-form" class="bulk-bar" method="post" action="/bulk-reply/" hidden' in page  # until a tick


def test_one_reply_on_each_ticked_conversation(acme, make_conv, settings, django_capture_on_commit_callbacks):
    a, b = make_conv("bag lost"), make_conv("bag lost too")
    with django_capture_on_commit_callbacks(execute=True):
        r = _agent(acme).post(
            "/bulk-reply/",
            # a box ticked twice on the page (the list and the form) is one conversation: one reply
            {"conversation_ids": [a.pk, b.pk, a.pk], "text": "We are tracing all bags from flight 12.", "next": "/"},
        )
    assert r.status_code == 302 and r["Location"] == "/"
    assert sorted(Reply.objects.values_list("conversation_id", flat=True)) == [a.pk, b.pk]
    assert set(Reply.objects.values_list("state", flat=True)) == {Reply.State.SENT}
    assert "Replied on 2 conversations." in said(r)
    # delivered through the exactly-once path: one file per reply, named by the reply's own idempotency key
    keys = {str(k) for k in Reply.objects.values_list("idempotency_key", flat=True)}
    assert {p.stem for p in Path(settings.OUTBOUND_SINK_DIR).rglob("*.json")} == keys and len(keys) == 2


def test_a_text_too_long_for_one_network_sends_nothing_and_comes_back_with_the_reasons(acme, make_conv):
    """290 characters fit Mastodon (500) but not X (280): the Mastodon customer does not get it alone."""
    on_x, on_mastodon = make_conv("bag lost", network="x"), make_conv("bag lost", network="mastodon")
    other = make_conv("unrelated")
    text = (EVIL * 5)[:290]
    r = _agent(acme).post(
        "/bulk-reply/",
        {"conversation_ids": [on_mastodon.pk, on_x.pk], "text": text, "next": "/?status=open&sentiment=negative"},
    )
    page = r.content.decode()
    assert r.status_code == 200 and not Reply.objects.exists()
    assert bulk_box(page).startswith(ESCAPED_EVIL) and "<script>alert" not in page  # as typed, escaped
    assert "Nothing was sent: the reply does not fit 1 of the 2 conversations." in page
    assert reason_beside(page, on_x.pk) == "Bulk reply: Too long for x: 290 characters, the limit is 280."
    assert (
        reason_listed(page, on_x.pk)
        == f"#{on_x.pk} @{on_x.author.handle}: Too long for x: 290 characters, the limit is 280."
    )
    assert reason_beside(page, on_mastodon.pk) == "" and reason_beside(page, other.pk) == ""
    assert ticked(page) == {on_x.pk, on_mastodon.pk}  # the ticks as they were; the others not
    assert 'data-refused="true"' in page and 'aria-describedby="bulk-error"' in page  # the form open
    # the page is the inbox the agent came from: its filters, and the form still goes back there
    assert '<option value="negative" selected>' in page
    assert '<input type="hidden" name="next" value="/?status=open&amp;sentiment=negative">' in page
    assert said(r) == []  # said once, on the page, not again on the next one


def test_after_a_refusal_sending_again_gives_each_conversation_one_reply(
    acme, make_conv, django_capture_on_commit_callbacks
):
    on_x, on_mastodon = make_conv("late", network="x"), make_conv("late", network="mastodon")
    c = _agent(acme)
    c.post("/bulk-reply/", {"conversation_ids": [on_x.pk, on_mastodon.pk], "text": "x" * 290})
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/bulk-reply/", {"conversation_ids": [on_x.pk, on_mastodon.pk], "text": "x" * 270})
        c.post("/bulk-reply/", {"conversation_ids": [on_mastodon.pk], "text": "y" * 400})  # fits Mastodon alone
    assert r.status_code == 302
    assert sorted(Reply.objects.values_list("conversation_id", "text")) == sorted(
        [(on_x.pk, "x" * 270), (on_mastodon.pk, "x" * 270), (on_mastodon.pk, "y" * 400)]
    )
    assert "Too long" not in c.get("/").content.decode()  # nothing stale on the next page


def test_a_failure_half_way_leaves_no_reply_and_the_text_comes_back(acme, make_conv, monkeypatch):
    a, b, c = make_conv("one"), make_conv("two"), make_conv("three")
    create, calls = bulk.do_create_reply, []

    def create_then_fail(scope, conv, text, origin):  # type: ignore[no-untyped-def]
        calls.append(conv.pk)
        if len(calls) == 2:
            raise ValueError("The network refused the second reply.")
        return create(scope, conv, text, origin)

    monkeypatch.setattr(bulk, "do_create_reply", create_then_fail)
    page = (
        _agent(acme).post("/bulk-reply/", {"conversation_ids": [a.pk, b.pk, c.pk], "text": "Sorry!"}).content.decode()
    )
    assert calls == [a.pk, b.pk] and not Reply.objects.exists()  # the first one was rolled back
    assert "Nothing was sent: The network refused the second reply." in page and bulk_box(page) == "Sorry!"
    assert ticked(page) == {a.pk, b.pk, c.pk}


def test_conversations_the_agent_cannot_see_refuse_the_whole_reply(acme, make_conv, make_org):
    """Like the API's 404 for an unknown id: nothing is sent, and nothing is said about the foreign one."""
    a = make_conv("bag lost")
    other_org = make_org("other")
    foreign = make_conv("not yours", org=other_org["org"], brand=next(iter(other_org["brands"])))
    c = _agent(acme)
    page = c.post("/bulk-reply/", {"conversation_ids": [a.pk, foreign.pk], "text": "On it."}).content.decode()
    assert not Reply.objects.exists()
    assert reason_listed(page, foreign.pk) == (
        f"#{foreign.pk}: not found among your conversations (deleted, or of a brand you no longer see); unticked."
    )
    assert "not yours" not in page and foreign.author.handle not in page
    assert ticked(page) == {a.pk} and bulk_box(page) == "On it."
    r = c.post("/bulk-reply/", {"conversation_ids": ticked(page), "text": "On it."})
    assert r.status_code == 302 and list(Reply.objects.values_list("conversation_id", flat=True)) == [a.pk]


@pytest.mark.parametrize(
    "ticks, expected",
    [
        ([], "Nothing was sent: tick the conversations to reply to first."),
        (
            list(range(1, BULK_REPLY_LIMIT + 2)),
            "Nothing was sent: at most 100 conversations at once, 101 are ticked.",
        ),
    ],
    ids=["none-ticked", "over-the-limit"],
)
def test_no_ticks_or_too_many_keep_the_text(acme, make_conv, ticks, expected):
    make_conv("bag lost")
    page = _agent(acme).post("/bulk-reply/", {"conversation_ids": ticks, "text": EVIL}).content.decode()
    assert expected in page and bulk_box(page) == ESCAPED_EVIL and not Reply.objects.exists()


def test_an_analyst_cannot_bulk_reply_and_keeps_the_text(acme, make_conv):
    conv = make_conv("bag lost")
    analyst = Client()
    analyst.force_login(acme["users"]["analyst"])
    r = analyst.post("/bulk-reply/", {"conversation_ids": [conv.pk], "text": "Hello"})
    page = r.content.decode()
    assert r.status_code == 200 and "Nothing was sent:" in page and bulk_box(page) == "Hello"
    assert not Reply.objects.exists()


def test_approval_policies_hold_bulk_replies_and_say_which(acme, make_conv, scopes, django_capture_on_commit_callbacks):
    held, sent = make_conv("refund please", intent="refund"), make_conv("bag lost")
    save_approval_policy(scopes["supervisor"], ApprovalPolicyIn(name="refunds", intents=["refund"]))
    with django_capture_on_commit_callbacks(execute=True):
        r = _agent(acme).post("/bulk-reply/", {"conversation_ids": [held.pk, sent.pk], "text": "We are on it."})
    states = dict(Reply.objects.values_list("conversation_id", "state"))
    assert states == {held.pk: Reply.State.PENDING_APPROVAL, sent.pk: Reply.State.SENT}
    assert f"Replied on 2 conversations, 1 held for approval (#{held.pk})." in said(r)


def test_the_refused_form_comes_back_on_the_open_conversation(acme, make_conv):
    open_conv, on_x = make_conv("the open one", network="mastodon"), make_conv("ticked", network="x")
    page = (
        _agent(acme)
        .post("/bulk-reply/", {"conversation_ids": [on_x.pk], "text": "z" * 300, "next": f"/c/{open_conv.pk}/"})
        .content.decode()
    )
    assert f'data-conversation="{open_conv.pk}"' in page and bulk_box(page) == "z" * 300
    assert reason_beside(page, on_x.pk).startswith("Bulk reply: Too long for x")


def test_ticked_conversations_filtered_out_of_the_list_stay_ticked_in_the_form(acme, make_conv):
    resolved, on_x = make_conv("done"), make_conv("late", network="x")
    resolved.status = "resolved"
    resolved.save(update_fields=["status"])
    page = (
        _agent(acme)
        .post("/bulk-reply/", {"conversation_ids": [resolved.pk, on_x.pk], "text": "z" * 300, "next": "/?status=open"})
        .content.decode()
    )
    assert ticked(page) == {resolved.pk, on_x.pk}
    assert f"#{resolved.pk} @{resolved.author.handle} (not in the list shown)" in page


def test_merged_ids_get_no_reply_and_a_refused_reply_carries_no_draft(acme, make_event, ingest):
    """A ticked id merged into a ticked survivor: the survivor gets the reply, once. A refused bulk reply
    carries nothing into any survivor's box (the text is in the form: one copy, never sent twice)."""
    from tests.inbox.merges import merged_chain
    from tests.inbox.test_merged_reply_drafts import reply_box

    a, _, c = merged_chain(acme["org"], make_event, ingest)
    agent = _agent(acme)
    page = agent.post("/bulk-reply/", {"conversation_ids": [a], "text": "  "}).content.decode()
    assert "Nothing was sent: The reply is empty." in page
    assert reason_listed(page, a) == (
        f"#{a}: merged into #{c} since the list was shown: it gets no reply from here; open #{c} to answer."
    )
    assert reply_box(agent.get(f"/c/{c}/").content.decode()) == ""
    ingest(acme["org"], [make_event("@AcmeAir dan here", author="dan")])
    d = Conversation.objects.get(author__handle="dan").pk
    page = agent.post("/bulk-reply/", {"conversation_ids": [a, d], "text": "x" * 300}).content.decode()
    assert reason_beside(page, d).startswith("Bulk reply: Too long for x") and bulk_box(page) == "x" * 300
    assert reply_box(agent.get(f"/c/{c}/").content.decode()) == "" and not Reply.objects.exists()
    r = agent.post("/bulk-reply/", {"conversation_ids": [a, c], "text": "Checking."})
    assert r.status_code == 302 and list(Reply.objects.values_list("conversation_id", flat=True)) == [c]
