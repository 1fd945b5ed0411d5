"""The ingest pages: the quarantine (input Hubbub could not accept, kept with its reason; supervisors), and
the ingest health page (lag per organisation; an organisation's admins, or a platform superuser for all)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from hubbub.ingest.health import QUARANTINE_WINDOW, STALLED_AFTER, lag_of
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import operations_view, scoped_view


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


@operations_view("Ingest health is for your organisation's admins.")
def health(request: HttpRequest, organization_ids: list[int] | None) -> HttpResponse:
    """Ingest lag: an admin sees their organisation, a platform superuser every organisation."""
    lags = lag_of(organization_ids, timezone.now())
    return render(
        request,
        "ingest/health.html",
        {
            "lags": lags,
            "all_organisations": organization_ids is None,
            "stalled_minutes": int(STALLED_AFTER.total_seconds() // 60),
            "window_hours": int(QUARANTINE_WINDOW.total_seconds() // 3600),
        },
    )
