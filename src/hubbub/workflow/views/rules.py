"""Routing-rule pages: the list in evaluation order, the editor with its live preview, move and delete.

The form posts its fields under the names of the API's body (`conditions.keywords`, `actions.team_id`), so
`hubbub.inputs.form_input` reads it into the API's own `RuleIn`, whose rules are the rule language's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.inputs import InvalidInput, form_input
from hubbub.tenancy.models import Role, Team
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.inputs import PreviewIn, RuleIn
from hubbub.workflow.models import RoutingRule, SLAPolicy
from hubbub.workflow.rules import LIST_CONDITIONS, describe
from hubbub.workflow.services.rule_admin import create_rule, delete_rule, move_rule, preview_rule, update_rule
from hubbub.workflow.views.form_support import form_choices, form_error, pressed

LISTED = (*LIST_CONDITIONS, "keywords", "tags")  # what the editor shows as a list (selects, "a, b" boxes)


def _shown(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _as_shown(section: Any) -> dict[str, Any]:
    """Conditions or actions as the editor shows them: lists where it lists (a box typed "a, b" is shown as
    typed), ids as numbers (so the select marks them)."""
    out: dict[str, Any] = {}
    for key, value in (section or {}).items():
        if key in LISTED:
            out[key] = [_shown(v) for v in (value if isinstance(value, list) else [value])]
        else:
            out[key] = _shown(value)
    return out


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
    """The rule editor: its fields are posted in the API's shape (`conditions.brands`, `actions.team_id`, …)
    and read into the API's `RuleIn`; a refused save shows the form again as typed, with the reason, 400."""
    require_role(scope, Role.SUPERVISOR)
    rule = get_scoped_or_404(RoutingRule.objects.all(), scope, None, id=rule_id) if rule_id else None
    status = 200
    if request.method == "POST":
        typed: dict[str, Any] = {}
        try:
            data = form_input(RuleIn, request.POST)
            typed = data.model_dump()
            if rule is None:
                rule = create_rule(scope, data)
                messages.success(request, f"Rule '{rule.name}' created.")
            else:
                update_rule(scope, rule, data)
                messages.success(request, f"Rule '{rule.name}' saved.")
            return redirect("workflow:rules")
        except ValueError as exc:  # InvalidInput: the field and why; or a team, policy, … not the organisation's
            form_error(request, exc)
            if isinstance(exc, InvalidInput) and exc.data:
                typed = exc.data  # as posted
            values = {
                **_as_shown(typed.get("conditions")),
                **_as_shown(typed.get("actions")),
                "name": typed.get("name"),
            }
            values["is_active"] = typed.get("is_active", False)
            status = 400
    else:
        values = {
            **(rule.conditions if rule else {}),
            **(rule.actions if rule else {}),
            "name": rule.name if rule else "",
        }
    values.setdefault("is_active", rule.is_active if rule else True)
    return render(request, "workflow/rule_edit.html", {"rule": rule, "v": values, **form_choices(scope)}, status=status)


@scoped_view
def rule_preview(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    try:
        matched, scanned, sample = preview_rule(scope, form_input(PreviewIn, request.POST))
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
    action = pressed(request)
    if action == "delete":
        delete_rule(scope, rule)
        messages.success(request, f"Rule '{rule.name}' deleted.")
    elif action in ("up", "down"):
        move_rule(scope, rule, -1 if action == "up" else 1)
    return redirect("workflow:rules")
