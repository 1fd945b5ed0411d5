"""Which live events a browser receives (hubbub.web.views.live): its organisation's, and notices only
when they are addressed to this user (a reviewer's comment on someone else's reply stays private)."""

from __future__ import annotations

from hubbub.web.views.live import visible_to


def test_events_of_another_organisation_are_not_sent() -> None:
    assert visible_to({"kind": "messages", "organization_id": 1}, org_id=1, user_id=7)
    assert not visible_to({"kind": "messages", "organization_id": 2}, org_id=1, user_id=7)


def test_a_notice_goes_only_to_the_agent_it_is_addressed_to() -> None:
    notice = {"kind": "notice", "organization_id": 1, "user_id": 7, "text": "Rejected: tone"}
    assert visible_to(notice, org_id=1, user_id=7)
    assert not visible_to(notice, org_id=1, user_id=8)
    assert not visible_to(notice, org_id=2, user_id=7)


def test_composing_events_reach_everyone_in_the_organisation() -> None:
    event = {"kind": "composing", "organization_id": 1, "conversation_id": 5, "user": "ann"}
    assert visible_to(event, org_id=1, user_id=8)


def test_new_messages_name_their_conversations_live_and_when_polled(acme, make_event, ingest, monkeypatch):  # type: ignore[no-untyped-def]
    """An inbox with one of them open reloads its pane (app.js): the event says which conversations got
    messages, from the worker's publish and from the stream's poll of messages stored by another process."""
    from asgiref.sync import async_to_sync

    from hubbub import live
    from hubbub.inbox.models import Conversation, Message
    from hubbub.web.views.live import _conversations_since

    events: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(live, "publish", lambda kind, org, **data: events.append((kind, data)))
    ingest(acme["org"], [make_event("@AcmeAir hello", author="alice")])
    before = Message.objects.order_by("-id").values_list("id", flat=True).first()
    ingest(acme["org"], [make_event("@AcmeAir again", author="alice"), make_event("@AcmeAir hi", author="bob")])
    alice, bob = (Conversation.objects.get(author__handle=h).pk for h in ("alice", "bob"))
    assert [sorted(d["conversation_ids"]) for k, d in events if k == "messages"] == [[alice], sorted([alice, bob])]
    assert sorted(async_to_sync(_conversations_since)(acme["org"].pk, before)) == sorted([alice, bob])
