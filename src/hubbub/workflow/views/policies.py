"""The workflow settings page: SLA policies, business hours and approval policies, and their saves."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.inbox.models import Priority
from hubbub.inputs import form_input
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.hours import OFFICE_HOURS, schedule_text
from hubbub.workflow.inputs import ApprovalPolicyIn, BusinessHoursIn, SLAPolicyIn
from hubbub.workflow.models import ApprovalPolicy, BusinessHours, Metric, SLAPolicy
from hubbub.workflow.services.policies import (
    delete_approval_policy,
    delete_sla_policy,
    save_approval_policy,
    save_business_hours,
    save_sla_policy,
)
from hubbub.workflow.views.form_support import form_choices, form_error, picked


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
    """Save (or delete) an SLA policy; targets are posted as `targets.<metric>.<priority>`, the API's shape."""
    policy, action = picked(request, scope, SLAPolicy.objects.all())
    if action == "delete" and policy is not None:
        delete_sla_policy(scope, policy)
        messages.success(request, "SLA policy deleted.")
        return redirect("workflow:settings")
    try:
        save_sla_policy(scope, form_input(SLAPolicyIn, request.POST), policy)
        messages.success(request, "SLA policy saved.")
    except ValueError as exc:  # InvalidInput: the field and why
        form_error(request, exc)
    return redirect("workflow:settings")


@require_POST
@scoped_view
def hours_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    hours, _ = picked(request, scope, BusinessHours.objects.all())
    try:
        save_business_hours(scope, form_input(BusinessHoursIn, request.POST), hours)
        messages.success(request, "Business hours saved.")
    except ValueError as exc:
        form_error(request, exc)
    return redirect("workflow:settings")


@require_POST
@scoped_view
def approval_policy_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    policy, action = picked(request, scope, ApprovalPolicy.objects.all())
    if action == "delete" and policy is not None:
        delete_approval_policy(scope, policy)
        messages.success(request, "Approval policy deleted.")
        return redirect("workflow:settings")
    try:
        save_approval_policy(scope, form_input(ApprovalPolicyIn, request.POST), policy)
        messages.success(request, "Approval policy saved.")
    except ValueError as exc:
        form_error(request, exc)
    return redirect("workflow:settings")
