"""Routing rules as supervisors edit them: create, update, delete, reorder, preview.

`workflow.rules` is the pure rule language (cleaning, compiling, matching, describing); the input
schemas (`workflow.inputs.RuleIn`, `PreviewIn`) clean a rule with it before it gets here. This is
its Django shell: every change checks the role and that each id a rule names belongs to the
same organisation, then writes and audits. The preview runs the conditions over recent
conversations with the same facts routing uses.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from hubbub.inbox.models import CannedResponse, Conversation
from hubbub.tenancy.models import Role, Team
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow import sla
from hubbub.workflow.inputs import PreviewIn, RuleIn
from hubbub.workflow.models import BusinessHours, RoutingRule, SLAPolicy
from hubbub.workflow.rules import compile_rules
from hubbub.workflow.services.ownership import same_org
from hubbub.workflow.services.routing import facts_rows, hours_checker


def _rule_fields(data: RuleIn) -> dict[str, Any]:
    return {
        "name": data.name,
        "conditions": data.conditions,
        "actions": data.actions,
        "is_active": data.is_active,
        "stop_processing": data.stop_processing,
    }


def _check_rule_refs(scope: Scope, fields: dict[str, Any]) -> None:
    """Every id a rule names must belong to the same organisation (no cross-tenant references)."""
    org = scope.organization_id
    a, c = fields["actions"], fields["conditions"]
    if a.get("team_id") and not Team.objects.filter(organization_id=org, id=a["team_id"]).exists():
        raise ValueError("Unknown team.")
    if a.get("sla_policy_id") and not SLAPolicy.objects.filter(organization_id=org, id=a["sla_policy_id"]).exists():
        raise ValueError("Unknown SLA policy.")
    if (
        a.get("auto_reply_canned_id")
        and not CannedResponse.objects.filter(organization_id=org, id=a["auto_reply_canned_id"]).exists()
    ):
        raise ValueError("Unknown canned response.")
    if (
        c.get("business_hours_id")
        and not BusinessHours.objects.filter(organization_id=org, id=c["business_hours_id"]).exists()
    ):
        raise ValueError("Unknown business hours.")
    if c.get("brands") and not set(c["brands"]) <= set(scope.brand_ids):
        raise ValueError("Unknown brand.")


def create_rule(scope: Scope, data: RuleIn) -> RoutingRule:
    require_role(scope, Role.SUPERVISOR)
    fields = _rule_fields(data)
    _check_rule_refs(scope, fields)
    last = RoutingRule.objects.filter(organization_id=scope.organization_id).aggregate(m=Max("position"))["m"]
    rule = RoutingRule.objects.create(
        organization_id=scope.organization_id, position=(last or 0) + 10, created_by=scope.user, **fields
    )
    audit(
        scope.organization_id,
        scope.user,
        "rule.create",
        rule,
        name=rule.name,
        conditions=rule.conditions,
        actions=rule.actions,
    )
    return rule


def update_rule(scope: Scope, rule: RoutingRule, data: RuleIn) -> RoutingRule:
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, rule)
    fields = _rule_fields(data)
    _check_rule_refs(scope, fields)
    before = {"name": rule.name, "conditions": rule.conditions, "actions": rule.actions, "is_active": rule.is_active}
    for k, v in fields.items():
        setattr(rule, k, v)
    rule.save()
    audit(scope.organization_id, scope.user, "rule.update", rule, before=before, after=fields)
    return rule


def delete_rule(scope: Scope, rule: RoutingRule) -> None:
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, rule)
    audit(scope.organization_id, scope.user, "rule.delete", rule, name=rule.name)
    rule.delete()


def move_rule(scope: Scope, rule: RoutingRule, direction: int) -> None:
    """Swap a rule with its neighbour (direction -1 up, +1 down) and renumber."""
    require_role(scope, Role.SUPERVISOR)
    same_org(scope, rule)
    rules = list(RoutingRule.objects.filter(organization_id=scope.organization_id).order_by("position", "id"))
    i = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    j = i + (1 if direction > 0 else -1)
    if 0 <= j < len(rules):
        rules[i], rules[j] = rules[j], rules[i]
    for n, r in enumerate(rules):
        r.position = (n + 1) * 10
    RoutingRule.objects.bulk_update(rules, ["position"])
    audit(scope.organization_id, scope.user, "rule.move", rule, order=[r.pk for r in rules])


def preview_rule(scope: Scope, data: PreviewIn, limit: int = 500) -> tuple[int, int, list[Conversation]]:
    """Which of the latest `limit` conversations would these conditions match? (matched, scanned, sample)"""
    from types import SimpleNamespace

    rule = SimpleNamespace(conditions=data.conditions, stop_processing=False, name="preview", actions={})
    compiled = compile_rules([rule])
    recent_ids = list(
        Conversation.objects.filter(organization_id=scope.organization_id, brand_id__in=scope.brand_ids)
        .order_by("-last_message_at", "-id")
        .values_list("id", flat=True)[:limit]
    )
    team_tz = dict(Team.objects.filter(organization_id=scope.organization_id).values_list("id", "timezone"))
    cals = sla.CalendarCache()
    hits = []
    for cid, f in facts_rows(Conversation.objects.filter(id__in=recent_ids), compiled.needs_lang):
        hours = hours_checker(scope.organization_id, cals, team_tz, f) if compiled.needs_hours else None
        if compiled.match(f, hours):
            hits.append(cid)
    sample = list(
        Conversation.objects.filter(id__in=hits).select_related("author", "brand").order_by("-last_message_at")[:20]
    )
    return len(hits), len(recent_ids), sample
