"""The workflow settings page: SLA policies, business hours and approval policies, and their saves."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.ids import parse_id
from hubbub.inbox.models import Priority
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.hours import OFFICE_HOURS, schedule_text
from hubbub.workflow.models import ApprovalPolicy, BusinessHours, Metric, SLAPolicy
from hubbub.workflow.services.policies import (
    delete_approval_policy,
    delete_sla_policy,
    save_approval_policy,
    save_business_hours,
    save_sla_policy,
)
from hubbub.workflow.views.form_support import form_choices, form_error


@scoped_view
def settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    org = scope.organization_id
    policies = list(SLAPolicy.objects.filter(organization_id=org).select_related("business_hours", "brand"))
    return render(
        request,
        "workflow/settings.html",
        {
            "policies": policies,
            "metrics": Metric.choices,
            "priorities": Priority.choices,
            "hours_list": [(h, schedule_text(h.schedule)) for h in BusinessHours.objects.filter(organization_id=org)],
            "office_hours": schedule_text(OFFICE_HOURS),
            "approval_policies": ApprovalPolicy.objects.filter(organization_id=org),
            "roles": Role.choices,
            **form_choices(scope),
        },
    )


@require_POST
@scoped_view
def sla_policy_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    policy = (
        get_scoped_or_404(SLAPolicy.objects.all(), scope, None, id=int(p["id"])) if p.get("id", "").isdigit() else None
    )
    if p.get("action") == "delete" and policy is not None:
        delete_sla_policy(scope, policy)
        messages.success(request, "SLA policy deleted.")
        return redirect("workflow:settings")
    targets = {m: {str(pr): p.get(f"{m}_{pr}", "") for pr in range(4)} for m in Metric.values}
    data = {
        "name": p.get("name", ""),
        "targets": targets,
        "business_hours_id": parse_id(p.get("business_hours_id")),
        "brand_id": int(p["brand_id"]) if p.get("brand_id", "").isdigit() else None,
        "warn_at_pct": p.get("warn_at_pct") or 75,
        "is_default": p.get("is_default") == "on",
    }
    try:
        save_sla_policy(scope, data, policy)
        messages.success(request, "SLA policy saved.")
    except ValueError as exc:
        form_error(request, exc)
    return redirect("workflow:settings")


@require_POST
@scoped_view
def hours_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    hours = (
        get_scoped_or_404(BusinessHours.objects.all(), scope, None, id=int(p["id"]))
        if p.get("id", "").isdigit()
        else None
    )
    try:
        save_business_hours(
            scope,
            {
                "name": p.get("name", ""),
                "timezone": p.get("timezone", "UTC"),
                "schedule": p.get("schedule", ""),
                "holidays": p.get("holidays", ""),
            },
            hours,
        )
        messages.success(request, "Business hours saved.")
    except ValueError as exc:
        form_error(request, exc)
    return redirect("workflow:settings")


@require_POST
@scoped_view
def approval_policy_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    policy = (
        get_scoped_or_404(ApprovalPolicy.objects.all(), scope, None, id=int(p["id"]))
        if p.get("id", "").isdigit()
        else None
    )
    if p.get("action") == "delete" and policy is not None:
        delete_approval_policy(scope, policy)
        messages.success(request, "Approval policy deleted.")
        return redirect("workflow:settings")
    data = {
        "name": p.get("name", ""),
        "is_active": p.get("is_active") == "on",
        "roles": p.getlist("roles"),
        "brand_ids": p.getlist("brand_ids"),
        "intents": p.getlist("intents"),
        "topics": p.get("topics", ""),
        "sensitive_words": p.get("sensitive_words", ""),
        "during_incident": p.get("during_incident") == "on",
    }
    try:
        save_approval_policy(scope, data, policy)
        messages.success(request, "Approval policy saved.")
    except ValueError as exc:
        form_error(request, exc)
    return redirect("workflow:settings")
