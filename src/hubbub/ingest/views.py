"""The quarantine page: input Hubbub could not accept, kept with its reason (supervisors only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view


@scoped_view
def quarantine(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    rows = QuarantinedEvent.objects.filter(organization_id=scope.organization_id)[:200]
    return render(
        request,
        "ingest/quarantine.html",
        {
            "rows": rows,
            "total": QuarantinedEvent.objects.filter(organization_id=scope.organization_id).count(),
            "pending": RawEvent.objects.filter(organization_id=scope.organization_id, state="pending").count(),
        },
    )
