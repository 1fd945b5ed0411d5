"""Smaller pages: brand switcher, quarantine, reports, health."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.insights import report_views
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view


@require_POST
@scoped_view
def switch_brand(request: HttpRequest, scope: Scope) -> HttpResponse:
    value = request.POST.get("brand", "")
    if value.isdigit() and int(value) in scope.brand_ids:
        request.session["brand_id"] = int(value)
    else:
        request.session.pop("brand_id", None)
    nxt = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return redirect(nxt.split("?")[0])


@scoped_view
def quarantine(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    rows = QuarantinedEvent.objects.filter(organization_id=scope.organization_id)[:200]
    return render(
        request,
        "web/quarantine.html",
        {
            "rows": rows,
            "total": QuarantinedEvent.objects.filter(organization_id=scope.organization_id).count(),
            "pending": RawEvent.objects.filter(organization_id=scope.organization_id, state="pending").count(),
        },
    )


@scoped_view
def reports(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Reports → Response times, the first tab; the other tabs live in hubbub.insights.report_views."""
    return report_views.render_report(request, scope, "response-times")


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
