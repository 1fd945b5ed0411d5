"""Progress updates: one issue links many conversations; one update approved once goes out
as individual replies with a delivery status each; a closing update fixes the issue."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hubbub.inbox.models import Message, Reply
from hubbub.tenancy.scoping import PermissionDenied
from hubbub.workflow import issues
from hubbub.workflow.models import IssueDelivery, TrackedIssue

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage(acme, make_conv, scopes):  # type: ignore[no-untyped-def]
    convs = [make_conv(f"check-in is broken {i}", name=n) for i, n in enumerate(["Ann Lee", "Bo Chen", "Cy Dray"])]
    issue = issues.create_issue(
        scopes["agent"], acme["brands"]["Acme Air"].pk, "Outage on check-in", [c.pk for c in convs]
    )
    return issue, convs


def test_one_approved_update_becomes_one_reply_per_conversation(outage, scopes, django_capture_on_commit_callbacks):
    issue, convs = outage
    update = issues.post_update(scopes["agent"], issue, "Hi {first_name}, check-in is down; fix expected by 14:00.")
    assert update.state == "pending_approval"
    assert not Reply.objects.exists()  # nothing goes out before approval
    with django_capture_on_commit_callbacks(execute=True):
        issues.approve_update(scopes["supervisor"], update)
    update.refresh_from_db()
    assert update.state == "sent"
    texts = sorted(Message.objects.filter(direction="out").values_list("text", flat=True))
    assert texts == [
        "Hi Ann, check-in is down; fix expected by 14:00.",
        "Hi Bo, check-in is down; fix expected by 14:00.",
        "Hi Cy, check-in is down; fix expected by 14:00.",
    ]
    assert set(IssueDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_sending_again_never_posts_twice(outage, scopes, django_capture_on_commit_callbacks):
    issue, convs = outage
    update = issues.post_update(scopes["agent"], issue, "Update")
    with django_capture_on_commit_callbacks(execute=True):
        issues.approve_update(scopes["supervisor"], update)
    issues.send_update(update.pk)
    assert Message.objects.filter(direction="out").count() == 3


def test_a_closing_update_fixes_the_issue(outage, scopes, django_capture_on_commit_callbacks):
    issue, _ = outage
    update = issues.post_update(scopes["agent"], issue, "Fixed, sorry!", closing=True)
    with django_capture_on_commit_callbacks(execute=True):
        issues.approve_update(scopes["supervisor"], update)
    issue.refresh_from_db()
    assert issue.state == TrackedIssue.State.FIXED and issue.fixed_at
    with pytest.raises(ValueError, match="closed"):
        issues.post_update(scopes["agent"], issue, "more")


def test_an_update_too_long_for_a_network_is_refused(outage, scopes):
    from hubbub.connectors.outbound import ReplyTooLong

    with pytest.raises(ReplyTooLong):
        issues.post_update(scopes["agent"], outage[0], "x" * 300)


def test_updates_need_a_supervisor_who_is_not_the_author(outage, scopes):
    issue, _ = outage
    update = issues.post_update(scopes["supervisor"], issue, "Update")
    for role in ("agent", "analyst", "supervisor"):
        with pytest.raises(PermissionDenied):
            issues.approve_update(scopes[role], update)
    issues.reject_update(scopes["admin"], update, "Wait for engineering")
    update.refresh_from_db()
    assert update.state == "rejected" and not Reply.objects.exists()


def test_analysts_cannot_open_issues_or_write_updates(acme, outage, scopes):
    with pytest.raises(PermissionDenied):
        issues.create_issue(scopes["analyst"], acme["brands"]["Acme Air"].pk, "x")
    with pytest.raises(PermissionDenied):
        issues.post_update(scopes["analyst"], outage[0], "x")


def test_another_organisations_conversations_cannot_be_linked(acme, make_org, make_conv, outage, scopes):
    other = make_org("globex", brands=("Globex",))
    foreign = make_conv(org=other["org"], brand="Globex")
    assert issues.link_conversations(scopes["agent"], outage[0], [foreign.pk]) == 0


def test_issue_pages_and_api(acme, outage, scopes, django_capture_on_commit_callbacks):
    issue, convs = outage
    agent, sup = Client(), Client()
    agent.force_login(acme["users"]["agent"])
    sup.force_login(acme["users"]["supervisor"])
    assert b"Outage on check-in" in agent.get("/issues/").content
    agent.post(f"/issues/{issue.pk}/", {"action": "update", "text": "We are on it"})
    update = issue.updates.get()
    assert b"We are on it" in sup.get("/approvals/").content
    with django_capture_on_commit_callbacks(execute=True):
        sup.post(f"/issues/{issue.pk}/", {"action": "approve", "update_id": update.pk})
    body = agent.get(f"/api/v1/workflow/issues/{issue.pk}").json()
    assert body["updates"][0]["state"] == "sent"
    assert {d["status"] for d in body["updates"][0]["deliveries"]} == {"sent"}
    r = agent.post(
        f"/api/v1/workflow/issues/{issue.pk}/updates",
        json.dumps({"text": "Fixed", "closing": True}),
        content_type="application/json",
    )
    assert r.status_code == 201
    r = agent.post(f"/api/v1/workflow/issue-updates/{r.json()['id']}/approve", "{}", content_type="application/json")
    assert r.status_code == 403
