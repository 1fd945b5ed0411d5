"""The canned-responses page: list, save and delete (supervisors edit, agents read)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from hubbub.inbox.models import CannedResponse
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.services.canned import delete_canned, save_canned
from hubbub.workflow.views.form_support import form_error


@scoped_view
def canned(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    if request.method == "POST":
        p = request.POST
        obj = (
            get_scoped_or_404(CannedResponse.objects.all(), scope, None, id=int(p["id"]))
            if p.get("id", "").isdigit()
            else None
        )
        try:
            if p.get("action") == "delete" and obj is not None:
                delete_canned(scope, obj)
                messages.success(request, "Canned response deleted.")
            else:
                data = {"title": p.get("title", ""), "body": p.get("body", ""), "brand_id": p.get("brand_id") or None}
                save_canned(scope, data, obj)
                messages.success(request, "Canned response saved.")
        except ValueError as exc:
            form_error(request, exc)
        return redirect("workflow:canned")
    return render(
        request,
        "workflow/canned.html",
        {"items": CannedResponse.objects.filter(organization_id=scope.organization_id), "brands": scope.brands()},
    )
