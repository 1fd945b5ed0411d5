"""Nothing held is sent, by any path. During an incident (which holds every reply for approval) a reply from
each origin — an agent in the inbox, a bulk reply, a routing rule's auto-reply, an issue's progress update, the
API — goes through the one approval check: none reaches the network unless a supervisor other than its author
approved it. Each origin is driven the way a user drives it (the inbox form, the API with a token, a new
mention through the pipeline), with every queued task run."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.inbox.models import Reply
from hubbub.listening.services import open_incident
from hubbub.workflow.inputs import CannedIn, RuleIn
from hubbub.workflow.issues import approve_update, create_issue, post_update
from hubbub.workflow.services.canned import save_canned
from hubbub.workflow.services.rule_admin import create_rule
from tests.api.test_merged_conversations import token_client

pytestmark = pytest.mark.django_db


def sent_files(settings) -> int:  # type: ignore[no-untyped-def]
    sink = settings.OUTBOUND_SINK_DIR
    return len(list(sink.glob("*.json"))) if sink.exists() else 0


def test_during_an_incident_no_origin_sends_a_reply_unapproved(  # type: ignore[no-untyped-def]
    acme, make_conv, scopes, settings, django_capture_on_commit_callbacks
):
    air = acme["brands"]["Acme Air"]
    open_incident(scopes["supervisor"], air.pk, "Check-in systems down")
    agent = Client()
    agent.force_login(acme["users"]["agent"])
    api = token_client(acme["users"]["agent"], acme["org"])
    canned = save_canned(scopes["supervisor"], CannedIn(title="ack", body="Hi {first_name}, we are on it."))
    create_rule(scopes["supervisor"], RuleIn(name="ack", conditions={}, actions={"auto_reply_canned_id": canned.pk}))
    with django_capture_on_commit_callbacks(execute=True):
        by_ui, by_bulk, by_api, by_issue = (make_conv(f"check-in is broken {n}", route=False) for n in range(4))
        make_conv("check-in is broken, help")  # routed like the pipeline: the rule's auto-reply
        agent.post(f"/c/{by_ui.pk}/reply/", {"text": "Sorry, we are on it."})
        agent.post("/bulk-reply/", {"conversation_ids": [by_bulk.pk], "text": "Sorry, systems are down."})
        api_body = {"text": "Sorry from the API."}
        api.post(f"/api/v1/conversations/{by_api.pk}/replies", api_body, content_type="application/json")
        issue = create_issue(scopes["agent"], air.pk, "Check-in outage", [by_issue.pk])
        update = post_update(scopes["agent"], issue, "Check-in is back, {first_name}. Sorry!")
    by_origin = {r.origin: r for r in Reply.objects.all()}
    assert set(by_origin) == {"agent", "bulk", "auto", "api"}  # the issue update waits for its own approval
    for origin, reply in by_origin.items():
        assert reply.state == Reply.State.PENDING_APPROVAL, origin
        assert "active incident" in reply.review_comment, origin
    assert sent_files(settings) == 0

    with django_capture_on_commit_callbacks(execute=True):
        approve_update(scopes["supervisor"], update)  # a supervisor, not its author, approves the update
    issue_reply = Reply.objects.get(origin="issue")
    assert issue_reply.state == Reply.State.SENT
    assert issue_reply.approved_by == acme["users"]["supervisor"] != issue_reply.author
    assert "active incident" in issue_reply.review_comment  # the reasons the approval covered are kept
    assert sent_files(settings) == 1
    for reply in Reply.objects.exclude(origin="issue"):
        assert reply.state == Reply.State.PENDING_APPROVAL  # still held: nothing else went out
