"""The canned-responses page: list, save and delete (supervisors edit, agents read)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from hubbub.inbox.models import CannedResponse
from hubbub.inputs import form_input
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.inputs import CannedIn
from hubbub.workflow.services.canned import delete_canned, save_canned
from hubbub.workflow.views.form_support import form_error, picked


@scoped_view
def canned(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    if request.method == "POST":
        obj, action = picked(request, scope, CannedResponse.objects.all())
        try:
            if action == "delete" and obj is not None:
                delete_canned(scope, obj)
                messages.success(request, "Canned response deleted.")
            else:
                save_canned(scope, form_input(CannedIn, request.POST), obj)
                messages.success(request, "Canned response saved.")
        except ValueError as exc:
            form_error(request, exc)
        return redirect("workflow:canned")
    return render(
        request,
        "workflow/canned.html",
        {"items": CannedResponse.objects.filter(organization_id=scope.organization_id), "brands": scope.brands()},
    )
