"""Every workflow configuration action is refused, on the server, to each role below supervisor —
through the services, the pages and the API — and rows of other organisations are 404."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hubbub.workflow.inputs import ApprovalPolicyIn, BusinessHoursIn, CannedIn, RuleIn, SLAPolicyIn
from hubbub.workflow.models import ApprovalPolicy, BusinessHours, RoutingRule, SLAPolicy
from hubbub.workflow.services.canned import save_canned
from hubbub.workflow.services.policies import save_approval_policy, save_business_hours, save_sla_policy
from hubbub.workflow.services.rule_admin import create_rule

pytestmark = pytest.mark.django_db

LOW_ROLES = ["agent", "analyst"]

SERVICE_CALLS = {
    "create rule": lambda s: create_rule(s, RuleIn(name="r", actions={"priority": 1})),
    "save SLA policy": lambda s: save_sla_policy(s, SLAPolicyIn(name="p")),
    "save business hours": lambda s: save_business_hours(s, BusinessHoursIn(name="h", schedule={})),
    "save approval policy": lambda s: save_approval_policy(s, ApprovalPolicyIn(name="a")),
    "save canned": lambda s: save_canned(s, CannedIn(title="t", body="b")),
}

PAGES_POST = [
    ("/workflow/rules/new/", {"name": "r", "actions.priority": "1"}),
    ("/workflow/sla-policies/", {"name": "p"}),
    ("/workflow/business-hours/", {"name": "h", "schedule": "mon 09:00-17:00"}),
    ("/workflow/approval-policies/", {"name": "a"}),
]
PAGES_GET = ["/approvals/", "/workflow/rules/", "/workflow/rules/new/", "/workflow/settings/", "/audit/"]

API_POST = [
    ("/api/v1/workflow/rules", {"name": "r", "actions": {"priority": 1}}),
    ("/api/v1/workflow/rules/preview", {"conditions": {}}),
    ("/api/v1/workflow/sla-policies", {"name": "p"}),
    ("/api/v1/workflow/business-hours", {"name": "h"}),
    ("/api/v1/workflow/approval-policies", {"name": "a"}),
    ("/api/v1/workflow/canned", {"title": "t", "body": "b"}),
]
API_GET = [
    "/api/v1/workflow/rules",
    "/api/v1/workflow/sla-policies",
    "/api/v1/workflow/business-hours",
    "/api/v1/workflow/approval-policies",
    "/api/v1/workflow/approvals",
    "/api/v1/workflow/audit",
]


@pytest.mark.parametrize("role", LOW_ROLES)
@pytest.mark.parametrize("action", list(SERVICE_CALLS))
def test_services_refuse(scopes, role, action):
    from hubbub.tenancy.scoping import PermissionDenied

    with pytest.raises(PermissionDenied):
        SERVICE_CALLS[action](scopes[role])


@pytest.mark.parametrize("role", LOW_ROLES)
def test_pages_and_api_refuse(acme, role):
    c = Client()
    c.force_login(acme["users"][role])
    for url in PAGES_GET:
        assert c.get(url).status_code == 403, url
    for url, data in PAGES_POST:
        assert c.post(url, data).status_code == 403, url
    for url, body in API_POST:
        assert c.post(url, json.dumps(body), content_type="application/json").status_code == 403, url
    for url in API_GET:
        assert c.get(url).status_code == 403, url
    assert not (
        RoutingRule.objects.exists()
        or SLAPolicy.objects.exists()
        or BusinessHours.objects.exists()
        or ApprovalPolicy.objects.exists()
    )


def test_anonymous_users_are_sent_to_log_in_or_refused(acme):
    c = Client()
    assert c.get("/approvals/").status_code == 302
    assert c.get("/api/v1/workflow/rules").status_code == 401


def test_other_organisations_rows_are_404(acme, make_org, scopes):
    rule = create_rule(scopes["supervisor"], RuleIn(name="r", actions={"priority": 1}))
    policy = save_sla_policy(scopes["supervisor"], SLAPolicyIn(name="p"))
    other = make_org("globex", brands=("Globex",))
    c = Client()
    c.force_login(other["users"]["admin"])
    assert c.get(f"/workflow/rules/{rule.pk}/").status_code == 404
    assert c.post(f"/workflow/rules/{rule.pk}/action/", {"action": "delete"}).status_code == 404
    body = json.dumps({"name": "x", "actions": {"priority": 1}})
    assert c.put(f"/api/v1/workflow/rules/{rule.pk}", body, content_type="application/json").status_code == 404
    assert c.delete(f"/api/v1/workflow/sla-policies/{policy.pk}").status_code == 404
    assert c.get("/api/v1/workflow/rules").json() == []
    assert RoutingRule.objects.filter(pk=rule.pk).exists()


def test_supervisor_pages_render_with_helpful_empty_states(acme):
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    for url, text in [
        ("/approvals/", b"Nothing waits for approval"),
        ("/workflow/rules/", b"No routing rules yet"),
        ("/workflow/settings/", b"No SLA policy yet"),
        ("/workflow/teams/", b"Availability"),
        ("/workflow/canned/", b"No canned responses yet"),
        ("/issues/", b"No issues yet"),
        ("/audit/", b"Audit log"),
    ]:
        r = c.get(url)
        assert r.status_code == 200 and text in r.content, url


def test_settings_forms_save_through_the_pages(acme):
    c = Client()
    c.force_login(acme["users"]["supervisor"])
    c.post(
        "/workflow/business-hours/",
        {"name": "NY", "timezone": "America/New_York", "schedule": "mon-fri 09:00-17:00", "holidays": "2026-11-26"},
    )
    hours = BusinessHours.objects.get()
    assert hours.holidays == ["2026-11-26"] and hours.schedule["0"] == [["09:00", "17:00"]]
    c.post(
        "/workflow/sla-policies/",
        {"name": "Std", "targets.first_response.1": "60", "business_hours_id": hours.pk, "is_default": "on"},
    )
    policy = SLAPolicy.objects.get()
    assert policy.targets == {"first_response": {"1": 60}} and policy.is_default
    c.post(
        "/workflow/approval-policies/",
        {"name": "Words", "is_active": "on", "roles": ["agent"], "sensitive_words": "refund, lawyer"},
    )
    ap = ApprovalPolicy.objects.get()
    assert ap.roles == ["agent"] and ap.sensitive_words == ["refund", "lawyer"]
    r = c.post("/workflow/business-hours/", {"name": "Bad", "schedule": "weekdays"}, follow=True)
    assert b"mon-fri 09:00-17:00" in r.content
