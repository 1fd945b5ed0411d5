"""Reply approval: policies decide what is held; supervisors approve, edit or reject; the
agent is told; every step is audited; nothing held can reach a customer by any path."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hubbub.inbox.actions.approvals import do_approve_reply as approve_reply
from hubbub.inbox.actions.approvals import do_reject_reply as reject_reply
from hubbub.inbox.actions.delivery import do_deliver_reply
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Message, Note, Reply
from hubbub.tenancy.models import AuditEvent
from hubbub.tenancy.scoping import PermissionDenied
from hubbub.workflow.inputs import ApprovalPolicyIn, RuleIn
from hubbub.workflow.services.policies import save_approval_policy
from hubbub.workflow.services.rule_admin import create_rule

pytestmark = pytest.mark.django_db


def _policy(scopes, **kw):  # type: ignore[no-untyped-def]
    return save_approval_policy(scopes["supervisor"], ApprovalPolicyIn.model_validate({"name": "p", **kw}))


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(user)
    return c


def test_agents_replies_are_held_when_a_role_policy_says_so_but_supervisors_are_not(make_conv, scopes):
    _policy(scopes, roles=["agent"])
    conv = make_conv()
    held = do_create_reply(scopes["agent"], conv, "We are looking into it")
    assert held.state == Reply.State.PENDING_APPROVAL
    assert "policy 'p'" in held.review_comment
    assert do_create_reply(scopes["supervisor"], conv, "On it").state == Reply.State.APPROVED


@pytest.mark.parametrize(
    ("policy", "held_text", "free_text"),
    [
        (
            {"sensitive_words": ["refund", "lawyer"]},
            "A REFUND is on its way",
            "We refunded nothing yet: refunds take days",
        ),
        ({"sensitive_words": ["free flight"]}, "Enjoy a free flight on us", "Flights are free of delays today"),
    ],
)
def test_sensitive_words_hold_a_draft_whole_word_and_case_insensitive(make_conv, scopes, policy, held_text, free_text):
    _policy(scopes, **policy)
    conv = make_conv()
    assert do_create_reply(scopes["agent"], conv, held_text).state == Reply.State.PENDING_APPROVAL
    assert do_create_reply(scopes["agent"], conv, free_text).state == Reply.State.APPROVED


def test_brand_intent_and_topic_policies_only_hold_matching_conversations(acme, make_conv, scopes):
    air = acme["brands"]["Acme Air"]
    _policy(scopes, brand_ids=[air.pk], intents=["complaint"], topics=["baggage"])
    matching = make_conv(brand="Acme Air", intent="complaint", topic="baggage")
    other_brand = make_conv(brand="Acme Rail", intent="complaint", topic="baggage")
    other_intent = make_conv(brand="Acme Air", intent="praise", topic="baggage")
    assert do_create_reply(scopes["agent"], matching, "Sorry").state == Reply.State.PENDING_APPROVAL
    assert do_create_reply(scopes["agent"], other_brand, "Sorry").state == Reply.State.APPROVED
    assert do_create_reply(scopes["agent"], other_intent, "Thanks").state == Reply.State.APPROVED


def test_every_reply_is_held_during_an_active_incident_and_not_after(make_conv, scopes):
    from hubbub.listening.services import close_incident, open_incident

    conv = make_conv()
    assert do_create_reply(scopes["supervisor"], conv, "All fine").state == Reply.State.APPROVED
    incident = open_incident(scopes["supervisor"], conv.brand_id, "Outage")
    held = do_create_reply(scopes["admin"], conv, "All fine")
    assert held.state == Reply.State.PENDING_APPROVAL
    assert "active incident" in held.review_comment
    close_incident(scopes["supervisor"], incident, "Back to normal")
    assert do_create_reply(scopes["supervisor"], conv, "All fine").state == Reply.State.APPROVED


def test_a_policy_can_narrow_sensitive_words_to_incidents_only(make_conv, scopes):
    from hubbub.listening.services import open_incident

    _policy(scopes, during_incident=True, sensitive_words=["delay"])
    conv = make_conv()
    assert do_create_reply(scopes["agent"], conv, "Sorry for the delay").state == Reply.State.APPROVED
    open_incident(scopes["supervisor"], conv.brand_id, "Outage")
    held = do_create_reply(scopes["agent"], conv, "Sorry for the delay")
    assert "policy 'p': contains 'delay' during an active incident" in held.review_comment


def test_a_broken_incident_lookup_holds_replies_instead_of_letting_them_out(make_conv, scopes, monkeypatch):
    from hubbub.workflow.services import approvals

    def broken(brand_id: int) -> object:
        raise RuntimeError("war room database unreachable")

    monkeypatch.setattr(approvals, "_incident_lookups", [broken])
    held = do_create_reply(scopes["supervisor"], make_conv(), "All fine")
    assert held.state == Reply.State.PENDING_APPROVAL and "active incident" in held.review_comment


def test_a_routing_rule_can_require_approval_for_a_conversation(acme, make_conv, scopes):
    create_rule(
        scopes["supervisor"],
        RuleIn(name="legal", conditions={"keywords": ["lawsuit"]}, actions={"require_approval": True}),
    )
    conv = make_conv("I will file a lawsuit")
    assert conv.requires_approval
    assert do_create_reply(scopes["admin"], conv, "Please DM us").state == Reply.State.PENDING_APPROVAL


def test_held_reply_is_never_sent_by_the_delivery_task_or_a_direct_call(make_conv, scopes, settings):
    from hubbub.inbox.tasks import deliver_reply_task

    _policy(scopes, roles=["agent"])
    conv = make_conv()
    reply = do_create_reply(scopes["agent"], conv, "Held")
    do_deliver_reply(reply.pk)
    deliver_reply_task(reply.pk)
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_APPROVAL
    assert not Message.objects.filter(direction="out").exists()
    assert not list(settings.OUTBOUND_SINK_DIR.glob("*.json")) if settings.OUTBOUND_SINK_DIR.exists() else True


def test_held_reply_is_not_sent_from_the_ui(acme, make_conv, scopes, django_capture_on_commit_callbacks):
    _policy(scopes, roles=["agent"])
    conv = make_conv()
    with django_capture_on_commit_callbacks(execute=True):
        r = _client(acme["users"]["agent"]).post(f"/c/{conv.pk}/reply/", {"text": "Held by policy"}, follow=True)
    assert r.status_code == 200 and b"for approval" in r.content
    assert Reply.objects.get().state == Reply.State.PENDING_APPROVAL
    assert not Message.objects.filter(direction="out").exists()


def test_held_reply_is_not_sent_from_the_api(acme, make_conv, scopes, django_capture_on_commit_callbacks):
    _policy(scopes, roles=["agent"])
    conv = make_conv()
    with django_capture_on_commit_callbacks(execute=True):
        r = _client(acme["users"]["agent"]).post(
            f"/api/v1/conversations/{conv.pk}/replies", json.dumps({"text": "Held"}), content_type="application/json"
        )
    assert r.status_code == 201 and r.json()["state"] == "pending_approval"
    assert not Message.objects.filter(direction="out").exists()


def test_held_replies_are_not_sent_in_bulk(acme, make_conv, scopes, django_capture_on_commit_callbacks):
    _policy(scopes, sensitive_words=["compensation"])
    convs = [make_conv(), make_conv(), make_conv()]
    with django_capture_on_commit_callbacks(execute=True):
        r = _client(acme["users"]["agent"]).post(
            "/api/v1/workflow/bulk-replies",
            json.dumps({"conversation_ids": [c.pk for c in convs], "text": "We offer compensation"}),
            content_type="application/json",
        )
    assert r.status_code == 201
    assert {x["state"] for x in r.json()} == {"pending_approval"}
    assert not Message.objects.filter(direction="out").exists()


def test_supervisor_approves_then_the_reply_is_sent_once_and_the_agent_is_told(
    acme, make_conv, scopes, django_capture_on_commit_callbacks, monkeypatch
):
    from hubbub import live

    events = []
    monkeypatch.setattr(live, "publish", lambda kind, org, **data: events.append((kind, data)))
    _policy(scopes, roles=["agent"])
    conv = make_conv()
    reply = do_create_reply(scopes["agent"], conv, "Sorry, we found your bag")
    with django_capture_on_commit_callbacks(execute=True):
        approve_reply(scopes["supervisor"], reply)
    reply.refresh_from_db()
    assert reply.state == Reply.State.SENT and reply.approved_by == acme["users"]["supervisor"]
    assert Message.objects.filter(direction="out", conversation=conv).count() == 1
    assert Note.objects.filter(conversation=conv, text__contains="approved by acme-supervisor").exists()
    assert any(k == "notice" and d["user_id"] == acme["users"]["agent"].pk for k, d in events)
    verbs = list(AuditEvent.objects.filter(target_id=str(reply.pk)).values_list("verb", flat=True))
    assert {"reply.create", "reply.approve", "reply.sent"} <= set(verbs)
    with pytest.raises(ValueError, match="no longer waiting"):
        approve_reply(scopes["admin"], reply)


def test_edit_and_approve_sends_the_edited_text_and_keeps_the_original_in_the_audit(
    make_conv, scopes, django_capture_on_commit_callbacks
):
    _policy(scopes, roles=["agent"])
    conv = make_conv()
    reply = do_create_reply(scopes["agent"], conv, "We'll refund you twice!!")
    with django_capture_on_commit_callbacks(execute=True):
        approve_reply(scopes["supervisor"], reply, "We'll look into a refund.")
    out = Message.objects.get(direction="out")
    assert out.text == "We'll look into a refund."
    entry = AuditEvent.objects.get(verb="reply.edit_approve")
    assert entry.data["original"] == "We'll refund you twice!!"


def test_edit_and_approve_checks_the_network_length(make_conv, scopes):
    from hubbub.connectors.outbound import ReplyTooLong

    _policy(scopes, roles=["agent"])
    reply = do_create_reply(scopes["agent"], make_conv(network="x"), "short")
    with pytest.raises(ReplyTooLong):
        approve_reply(scopes["supervisor"], reply, "x" * 281)
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_APPROVAL


def test_reject_needs_a_comment_tells_the_agent_and_nothing_is_sent(make_conv, scopes):
    _policy(scopes, roles=["agent"])
    conv = make_conv()
    reply = do_create_reply(scopes["agent"], conv, "lol")
    with pytest.raises(ValueError, match="comment"):
        reject_reply(scopes["supervisor"], reply, "  ")
    reject_reply(scopes["supervisor"], reply, "Too casual; apologise properly.")
    reply.refresh_from_db()
    assert reply.state == Reply.State.REJECTED and reply.review_comment == "Too casual; apologise properly."
    assert Note.objects.filter(conversation=conv, text__contains="Too casual").exists()
    assert AuditEvent.objects.filter(verb="reply.reject", data__comment="Too casual; apologise properly.").exists()
    do_deliver_reply(reply.pk)
    assert not Message.objects.filter(direction="out").exists()


def test_nobody_approves_their_own_reply(make_conv, scopes):
    _policy(scopes, sensitive_words=["refund"])
    reply = do_create_reply(scopes["supervisor"], make_conv(), "refund coming")
    with pytest.raises(PermissionDenied):
        approve_reply(scopes["supervisor"], reply)
    approve_reply(scopes["admin"], reply)


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_agents_and_analysts_cannot_approve_or_reject_by_service_ui_or_api(acme, make_conv, scopes, role):
    _policy(scopes, sensitive_words=["refund"])
    reply = do_create_reply(scopes["supervisor"], make_conv(), "refund coming")
    with pytest.raises(PermissionDenied):
        approve_reply(scopes[role], reply)
    with pytest.raises(PermissionDenied):
        reject_reply(scopes[role], reply, "no")
    client = _client(acme["users"][role])
    assert client.get("/approvals/").status_code == 403
    assert client.post(f"/approvals/{reply.pk}/", {"action": "approve"}).status_code == 403
    api = f"/api/v1/workflow/approvals/{reply.pk}"
    assert client.post(api + "/approve", "{}", content_type="application/json").status_code == 403
    assert client.post(api + "/reject", '{"comment": "x"}', content_type="application/json").status_code == 403
    assert client.get("/api/v1/workflow/approvals").status_code == 403
    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_APPROVAL


def test_another_organisation_cannot_see_or_approve_a_held_reply(acme, make_org, make_conv, scopes, scope_of):
    other = make_org("globex", brands=("Globex",))
    _policy(scopes, sensitive_words=["refund"])
    reply = do_create_reply(scopes["agent"], make_conv(), "refund coming")
    outsider = other["users"]["supervisor"]
    client = _client(outsider)
    assert client.post(f"/approvals/{reply.pk}/", {"action": "approve"}).status_code == 404
    r = client.post(f"/api/v1/workflow/approvals/{reply.pk}/approve", "{}", content_type="application/json")
    assert r.status_code == 404
    assert client.get("/api/v1/workflow/approvals").json() == []
    with pytest.raises(PermissionDenied):
        approve_reply(scope_of(outsider, other["org"]), reply)


def test_approval_queue_page_approves_edits_and_rejects(acme, make_conv, scopes, django_capture_on_commit_callbacks):
    _policy(scopes, roles=["agent"])
    a, b, c = (do_create_reply(scopes["agent"], make_conv(), t) for t in ("one", "two", "three"))
    client = _client(acme["users"]["supervisor"])
    page = client.get("/approvals/")
    assert page.status_code == 200 and b"one" in page.content and b"Approve" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/approvals/{a.pk}/", {"action": "approve"})
        client.post(f"/approvals/{b.pk}/", {"action": "edit", "text": "two, politely"})
        client.post(f"/approvals/{c.pk}/", {"action": "reject", "comment": "no"})
    states = dict(Reply.objects.values_list("id", "state"))
    assert states == {a.pk: "sent", b.pk: "sent", c.pk: "rejected"}
    assert Message.objects.filter(direction="out", text="two, politely").exists()
    assert b"Nothing waits for approval" in client.get("/approvals/").content


def test_approval_api_lists_and_approves(acme, make_conv, scopes, django_capture_on_commit_callbacks):
    _policy(scopes, roles=["agent"])
    reply = do_create_reply(scopes["agent"], make_conv(), "hello")
    client = _client(acme["users"]["supervisor"])
    assert [r["id"] for r in client.get("/api/v1/workflow/approvals").json()] == [reply.pk]
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/api/v1/workflow/approvals/{reply.pk}/approve", '{"text": "hello!"}', content_type="application/json"
        )
    assert r.status_code == 200
    reply.refresh_from_db()
    assert reply.state == "sent" and reply.text == "hello!"
