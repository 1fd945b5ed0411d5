"""One rule, two front doors: each workflow form is read into the API's own input schema (`workflow.inputs`),
so a bad value posted from a settings, rules, canned, teams, issues or bulk-reply form and the same value sent
to the API are refused with the same message for the same field, and nothing is saved."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from hubbub.inbox.models import CannedResponse, Conversation
from hubbub.workflow.models import ApprovalPolicy, AssignmentPolicy, BusinessHours, RoutingRule, SLAPolicy, TrackedIssue
from tests.two_doors import api_client, api_field_error, flashed, post_json, web_client

pytestmark = pytest.mark.django_db

# (API path, JSON body, web path, form, field, message, model that must stay empty)
SETTINGS: list[tuple[str, dict[str, Any], str, dict[str, Any], str, str, Any]] = [
    (
        "/api/v1/workflow/sla-policies",
        {"name": "Std", "warn_at_pct": 120},
        "/workflow/sla-policies/",
        {"name": "Std", "warn_at_pct": "120"},
        "warn_at_pct",
        "Warn at a percentage between 1 and 99.",
        SLAPolicy,
    ),
    (
        "/api/v1/workflow/sla-policies",
        {"name": "Std", "targets": {"first_response": {"1": 0}}},
        "/workflow/sla-policies/",
        {"name": "Std", "targets.first_response.1": "0"},
        "targets",
        "Targets are positive minutes per priority 0-3.",
        SLAPolicy,
    ),
    (
        "/api/v1/workflow/business-hours",
        {"name": "Mars", "timezone": "Mars/Olympus"},
        "/workflow/business-hours/",
        {"name": "Mars", "timezone": "Mars/Olympus", "schedule": "mon-fri 09:00-17:00"},
        "timezone",
        "Unknown time zone 'Mars/Olympus'.",
        BusinessHours,
    ),
    (
        "/api/v1/workflow/approval-policies",
        {"name": "Owners", "roles": ["owner"]},
        "/workflow/approval-policies/",
        {"name": "Owners", "roles": ["owner"]},
        "roles",
        "Roles are admin, supervisor, agent, analyst.",
        ApprovalPolicy,
    ),
    (
        "/api/v1/workflow/canned",
        {"title": "Order", "body": "Your order {order_id}"},
        "/workflow/canned/",
        {"title": "Order", "body": "Your order {order_id}"},
        "body",
        "Unknown variable(s): order_id.",
        CannedResponse,
    ),
]


@pytest.mark.parametrize(("api_path", "body", "web_path", "form", "field", "message", "model"), SETTINGS)
def test_a_settings_form_and_the_api_refuse_a_value_alike(  # type: ignore[no-untyped-def]
    acme, api_path, body, web_path, form, field, message, model
) -> None:
    supervisor = acme["users"]["supervisor"]
    said = api_field_error(post_json(api_client(supervisor, acme["org"]), api_path, body), field)
    assert said == message
    answer = web_client(supervisor).post(web_path, form)
    assert answer.status_code == 302 and flashed(answer) == [said]
    assert not model.objects.exists()


def test_a_rule_without_an_action(acme) -> None:  # type: ignore[no-untyped-def]
    supervisor = acme["users"]["supervisor"]
    body = {"name": "Lost bags", "conditions": {"keywords": ["lost bag"]}}
    said = api_field_error(post_json(api_client(supervisor, acme["org"]), "/api/v1/workflow/rules", body), "actions")
    assert said == "A rule needs at least one action."
    page = web_client(supervisor).post("/workflow/rules/new/", {"name": "Lost bags", "conditions.keywords": "lost bag"})
    assert page.status_code == 400  # the editor again, as typed, with the reason
    html = page.content.decode()
    assert said in html and 'value="lost bag"' in html and 'value="Lost bags"' in html
    assert not RoutingRule.objects.exists()


def test_an_assignment_mode_that_does_not_exist(acme) -> None:  # type: ignore[no-untyped-def]
    supervisor, team = acme["users"]["supervisor"], acme["team"]
    api = post_json(
        api_client(supervisor, acme["org"]), f"/api/v1/workflow/teams/{team.pk}/assignment", {"mode": "lottery"}, "put"
    )
    said = api_field_error(api, "mode")
    assert said.startswith("Mode is one of ")
    answer = web_client(supervisor).post(f"/workflow/teams/{team.pk}/", {"mode": "lottery", "capacity": ""})
    assert flashed(answer) == [said]
    assert not AssignmentPolicy.objects.exists()


def test_an_issue_without_a_title_and_an_empty_update(acme, make_conv) -> None:  # type: ignore[no-untyped-def]
    agent, brand = acme["users"]["agent"], acme["brands"]["Acme Air"]
    api = api_client(agent, acme["org"])
    said = api_field_error(post_json(api, "/api/v1/workflow/issues", {"brand_id": brand.pk, "title": " "}), "title")
    assert said == "Give the issue a title, e.g. 'Outage on check-in'."
    page = web_client(agent).post("/issues/", {"brand_id": brand.pk, "title": " ", "conversation_ids": ""})
    assert page.status_code == 400 and escape(said) in page.content.decode()
    assert not TrackedIssue.objects.exists()

    issue = TrackedIssue.objects.create(organization=acme["org"], brand=brand, title="Outage", created_by=agent)
    said = api_field_error(post_json(api, f"/api/v1/workflow/issues/{issue.pk}/updates", {"text": ""}), "text")
    answer = web_client(agent).post(f"/issues/{issue.pk}/", {"action": "update", "text": ""})
    assert flashed(answer) == [said] == ["The update is empty."]
    assert not issue.updates.exists()


def test_an_empty_bulk_reply(acme, make_conv) -> None:  # type: ignore[no-untyped-def]
    conv: Conversation = make_conv()
    agent = acme["users"]["agent"]
    body = {"conversation_ids": [conv.pk], "text": "   "}
    said = api_field_error(post_json(api_client(agent, acme["org"]), "/api/v1/workflow/bulk-replies", body), "text")
    assert said == "The reply is empty."
    page = web_client(agent).post("/bulk-reply/", body).content.decode()
    assert f"Nothing was sent: {said}" in page
    assert not conv.replies.exists()
