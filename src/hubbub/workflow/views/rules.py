"""Routing-rule pages: the list in evaluation order, the editor with its live preview, move and delete.

The form's fields are turned into the same `conditions`/`actions` dicts the API takes, so both
go through `services.rule_admin` and are validated once, by the rule language.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.tenancy.models import Role, Team
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.models import RoutingRule, SLAPolicy
from hubbub.workflow.rules import CONDITION_KEYS, describe
from hubbub.workflow.services.rule_admin import create_rule, delete_rule, move_rule, preview_rule, update_rule
from hubbub.workflow.views.form_support import form_choices, form_error


def _rule_data(post: Any) -> dict[str, Any]:
    cond: dict[str, Any] = {}
    for key in CONDITION_KEYS:
        values = post.getlist(key)
        if len(values) > 1 or key in ("brands", "networks", "intents", "sentiments", "customer_tiers"):
            cond[key] = values
        else:
            cond[key] = post.get(key, "")
    act = {
        k: post.get(k, "")
        for k in (
            "team_id",
            "priority",
            "tags",
            "sla_policy_id",
            "require_approval",
            "auto_reply_canned_id",
            "mark_spam",
        )
    }
    return {
        "name": post.get("name", ""),
        "is_active": post.get("is_active") == "on",
        "stop_processing": post.get("stop_processing") == "on",
        "conditions": cond,
        "actions": act,
    }


@scoped_view
def rules(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    org = scope.organization_id
    names = {
        "team": dict(Team.objects.filter(organization_id=org).values_list("id", "name")),
        "sla": dict(SLAPolicy.objects.filter(organization_id=org).values_list("id", "name")),
    }
    rows = [(r, describe(r, names)) for r in RoutingRule.objects.filter(organization_id=org).order_by("position", "id")]
    return render(request, "workflow/rules.html", {"rows": rows})


@scoped_view
def rule_edit(request: HttpRequest, scope: Scope, rule_id: int | None = None) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    rule = get_scoped_or_404(RoutingRule.objects.all(), scope, None, id=rule_id) if rule_id else None
    if request.method == "POST":
        data = _rule_data(request.POST)
        try:
            if rule is None:
                rule = create_rule(scope, data)
                messages.success(request, f"Rule '{rule.name}' created.")
            else:
                update_rule(scope, rule, data)
                messages.success(request, f"Rule '{rule.name}' saved.")
            return redirect("workflow:rules")
        except ValueError as exc:
            form_error(request, exc)
            values = {**data["conditions"], **data["actions"], "name": data["name"]}
    else:
        values = {
            **(rule.conditions if rule else {}),
            **(rule.actions if rule else {}),
            "name": rule.name if rule else "",
        }
    values.setdefault("is_active", rule.is_active if rule else True)
    return render(request, "workflow/rule_edit.html", {"rule": rule, "v": values, **form_choices(scope)})


@scoped_view
def rule_preview(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    try:
        matched, scanned, sample = preview_rule(scope, _rule_data(request.POST)["conditions"])
        error = ""
    except ValueError as exc:
        matched, scanned, sample, error = 0, 0, [], str(exc)
    return render(
        request,
        "workflow/_rule_preview.html",
        {"matched": matched, "scanned": scanned, "sample": sample, "error": error},
    )


@require_POST
@scoped_view
def rule_action(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = get_scoped_or_404(RoutingRule.objects.all(), scope, None, id=rule_id)
    action = request.POST.get("action")
    if action == "delete":
        delete_rule(scope, rule)
        messages.success(request, f"Rule '{rule.name}' deleted.")
    elif action in ("up", "down"):
        move_rule(scope, rule, -1 if action == "up" else 1)
    return redirect("workflow:rules")
