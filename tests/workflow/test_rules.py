"""Routing rules: ordered conditions → actions, recorded on each conversation, edited with a
live preview, and fast enough to run inside the ingest batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.test import Client

from hubbub.inbox.models import Reply
from hubbub.tenancy.models import AuditEvent, Team
from hubbub.workflow.inputs import ApprovalPolicyIn, BusinessHoursIn, CannedIn, RuleIn
from hubbub.workflow.models import RoutingRule
from hubbub.workflow.rules import Facts, compile_rules
from hubbub.workflow.services.canned import save_canned
from hubbub.workflow.services.policies import save_approval_policy, save_business_hours
from hubbub.workflow.services.rule_admin import create_rule, delete_rule, move_rule, update_rule

pytestmark = pytest.mark.django_db


def _rule(scopes, name, conditions=None, **actions):  # type: ignore[no-untyped-def]
    return create_rule(scopes["supervisor"], RuleIn(name=name, conditions=conditions or {}, actions=actions))


def test_a_matching_rule_routes_and_the_decision_is_recorded(acme, make_conv, scopes):
    baggage = Team.objects.create(organization=acme["org"], name="Baggage")
    _rule(scopes, "lost luggage", {"keywords": ["lost bag", "luggage"]}, team_id=baggage.pk, priority=2, tags=["bags"])
    conv = make_conv("They LOST BAG number two")
    assert conv.team_id == baggage.pk and conv.priority == 2
    assert [t.name for t in conv.tags.all()] == ["bags"]
    assert conv.routing_log[0]["text"] == "routed to Baggage, priority high, tagged bags by rule 'lost luggage'"
    other = make_conv("Lovely flight, thanks")
    assert other.team_id is None
    assert "from urgency" in other.routing_log[-1]["text"]


@pytest.mark.parametrize(
    ("conditions", "conv_kwargs", "matches"),
    [
        ({"networks": ["instagram"]}, {"network": "instagram"}, True),
        ({"networks": ["instagram"]}, {"network": "x"}, False),
        ({"intents": ["question"]}, {"intent": "question"}, True),
        ({"topics": ["refund"]}, {"topic": "baggage"}, False),
        ({"sentiments": ["negative"]}, {"sentiment": "negative"}, True),
        ({"min_urgency": 70}, {"urgency": 69}, False),
        ({"min_urgency": 70}, {"urgency": 70}, True),
        ({"languages": ["es"]}, {"lang": "es"}, True),
        ({"languages": ["es"]}, {"lang": "en"}, False),
        ({"customer_tiers": ["loyal"]}, {"tier": "loyal"}, True),
        ({"customer_tiers": ["loyal"]}, {}, False),
        ({"min_customer_value": 1000}, {"tier": "regular", "value": 1500}, True),
        ({"min_customer_value": 1000}, {"tier": "regular", "value": 999}, False),
        ({"min_followers": 10000}, {"followers": 25000}, True),
        ({"min_followers": 10000}, {"followers": 50}, False),
    ],
)
def test_each_condition(acme, make_conv, scopes, conditions, conv_kwargs, matches):
    _rule(scopes, "r", conditions, tags=["hit"])
    conv = make_conv(**conv_kwargs)
    assert conv.tags.filter(name="hit").exists() is matches


def test_brand_condition(acme, make_conv, scopes):
    _rule(scopes, "rail", {"brands": [acme["brands"]["Acme Rail"].pk]}, tags=["rail"])
    assert make_conv(brand="Acme Rail").tags.filter(name="rail").exists()
    assert not make_conv(brand="Acme Air").tags.exists()


def test_business_hours_condition_inside_and_outside(acme, make_conv, scopes):
    from hubbub.workflow.hours import OFFICE_HOURS

    hours = save_business_hours(
        scopes["supervisor"], BusinessHoursIn(name="London", timezone="Europe/London", schedule=OFFICE_HOURS)
    )
    _rule(scopes, "night", {"business_hours": "outside", "business_hours_id": hours.pk}, tags=["after-hours"])
    night = make_conv(at=datetime(2026, 11, 2, 22, 0, tzinfo=UTC))
    day = make_conv(at=datetime(2026, 11, 2, 11, 0, tzinfo=UTC))
    assert night.tags.filter(name="after-hours").exists()
    assert not day.tags.exists()


def test_later_rules_override_and_stop_ends_the_list(acme, make_conv, scopes):
    a = Team.objects.create(organization=acme["org"], name="A")
    b = Team.objects.create(organization=acme["org"], name="B")
    _rule(scopes, "first", {}, team_id=a.pk, tags=["one"])
    second = _rule(scopes, "second", {"intents": ["complaint"]}, team_id=b.pk, tags=["two"])
    _rule(scopes, "third", {}, tags=["three"])
    conv = make_conv(intent="complaint")
    assert conv.team_id == b.pk and {t.name for t in conv.tags.all()} == {"one", "two", "three"}
    update_rule(
        scopes["supervisor"],
        second,
        RuleIn(name="second", conditions=second.conditions, actions=second.actions, stop_processing=True),
    )
    conv = make_conv(intent="complaint")
    assert {t.name for t in conv.tags.all()} == {"one", "two"}


def test_inactive_rules_do_nothing_and_moving_changes_the_order(acme, make_conv, scopes):
    a = Team.objects.create(organization=acme["org"], name="A")
    b = Team.objects.create(organization=acme["org"], name="B")
    ra = _rule(scopes, "to A", {}, team_id=a.pk)
    _rule(scopes, "to B", {}, team_id=b.pk)
    assert make_conv().team_id == b.pk
    move_rule(scopes["supervisor"], ra, +1)
    assert make_conv().team_id == a.pk
    update_rule(scopes["supervisor"], ra, RuleIn(name="to A", actions=ra.actions, is_active=False))
    assert make_conv().team_id == b.pk


def test_spam_is_kept_but_resolved_out_of_the_inbox(make_conv, scopes):
    _rule(scopes, "crypto spam", {"keywords": ["crypto giveaway"]}, mark_spam=True)
    conv = make_conv("Free CRYPTO GIVEAWAY click here")
    assert conv.is_spam and conv.status == "resolved" and conv.sla_due_at is None


def test_auto_reply_with_a_canned_response_goes_out_filled_in(
    acme, make_conv, scopes, django_capture_on_commit_callbacks
):
    canned = save_canned(
        scopes["supervisor"], CannedIn(title="ack", body="Hi {first_name}, {brand} here. Case {case_number}.")
    )
    _rule(scopes, "ack complaints", {"intents": ["complaint"]}, auto_reply_canned_id=canned.pk)
    with django_capture_on_commit_callbacks(execute=True):
        conv = make_conv(name="Zoe Quinn")
    reply = Reply.objects.get(conversation=conv)
    assert reply.text == f"Hi Zoe, Acme Air here. Case C-{conv.pk:06d}."
    assert reply.state == Reply.State.SENT


def test_auto_replies_respect_approval_policies(make_conv, scopes):
    canned = save_canned(scopes["supervisor"], CannedIn(title="ack", body="We will refund you"))
    save_approval_policy(scopes["supervisor"], ApprovalPolicyIn(name="refunds", sensitive_words=["refund"]))
    _rule(scopes, "ack", {}, auto_reply_canned_id=canned.pk)
    assert Reply.objects.get(conversation=make_conv()).state == Reply.State.PENDING_APPROVAL


def test_rules_are_validated_and_cannot_point_at_another_organisation(acme, make_org, scopes):
    other = make_org("globex", brands=("Globex",))
    with pytest.raises(ValueError, match="name"):
        create_rule(scopes["supervisor"], RuleIn(name="", actions={"priority": 1}))
    with pytest.raises(ValueError, match="action"):
        create_rule(scopes["supervisor"], RuleIn(name="x", actions={}))
    with pytest.raises(ValueError, match="team"):
        create_rule(scopes["supervisor"], RuleIn(name="x", actions={"team_id": other["team"].pk}))
    with pytest.raises(ValueError, match="brand"):
        create_rule(
            scopes["supervisor"],
            RuleIn(name="x", conditions={"brands": [other["brands"]["Globex"].pk]}, actions={"priority": 1}),
        )


def test_rule_edits_are_audited(scopes):
    rule = _rule(scopes, "r", {}, priority=3)
    update_rule(scopes["supervisor"], rule, RuleIn(name="r2", actions={"priority": 2}))
    delete_rule(scopes["supervisor"], rule)
    verbs = list(AuditEvent.objects.filter(verb__startswith="rule.").values_list("verb", flat=True))
    assert sorted(verbs) == ["rule.create", "rule.delete", "rule.update"]


def test_compiled_rules_never_put_user_text_into_code():
    evil = SimpleNamespace(
        name="x", stop_processing=False, conditions={"keywords": ["')\nimport os#"], "topics": ['"; raise']}
    )
    compiled = compile_rules([evil])
    f = Facts(1, "x", "", '"; raise', "", 0, "", "hello ')\nimport os# there", "unknown", 0.0, 0, datetime.now(UTC))
    assert compiled.match(f) == [0]


def test_rule_editor_page_and_live_preview(acme, make_conv, scopes):
    make_conv("my luggage is lost")
    make_conv("great crew")
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    assert c.get("/workflow/rules/").status_code == 200
    assert b"No routing rules yet" in c.get("/workflow/rules/").content
    page = c.get("/workflow/rules/new/")
    assert page.status_code == 200 and b"hx-post" in page.content
    preview = c.post("/workflow/rules/preview/", {"conditions.keywords": "luggage"}, HTTP_HX_REQUEST="true")
    assert b"<strong>1</strong> of the latest 2" in preview.content and b"my luggage is lost" in preview.content
    form = {"name": "bags", "conditions.keywords": "luggage", "actions.priority": "2", "is_active": "on"}
    r = c.post("/workflow/rules/new/", form)
    assert r.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.conditions == {"keywords": ["luggage"]} and rule.actions == {"priority": 2}
    assert b"priority high by rule &#x27;bags&#x27;" in c.get("/workflow/rules/").content
    c.post(f"/workflow/rules/{rule.pk}/action/", {"action": "delete"})
    assert not RoutingRule.objects.exists()


def test_rules_api(acme, make_conv, scopes):
    make_conv("my luggage is lost")
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    body = {"name": "bags", "conditions": {"keywords": ["luggage"]}, "actions": {"priority": 3}}
    r = c.post("/api/v1/workflow/rules", json.dumps(body), content_type="application/json")
    assert r.status_code == 201
    rid = r.json()["id"]
    assert c.get("/api/v1/workflow/rules").json()[0]["name"] == "bags"
    p = c.post("/api/v1/workflow/rules/preview", json.dumps(body), content_type="application/json")
    assert p.json()["matched"] == 1
    body["name"] = "bags!"
    assert c.put(f"/api/v1/workflow/rules/{rid}", json.dumps(body), content_type="application/json").status_code == 200
    bad = c.post("/api/v1/workflow/rules", json.dumps({"name": "x"}), content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["msg"] == "A rule needs at least one action."
    assert c.delete(f"/api/v1/workflow/rules/{rid}").status_code == 204
