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
