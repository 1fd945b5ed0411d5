"""Settings → System (organisation admins; a platform superuser sees every organisation)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from hubbub.ops.system import system_report
from hubbub.web.views.common import operations_view


@operations_view("The System page is for your organisation's admins.")
def system(request: HttpRequest, organization_ids: list[int] | None) -> HttpResponse:
    """The same figures as /readyz and /metrics, for the people who can act on them."""
    report = system_report(organization_ids, timezone.now())
    return render(request, "ops/system.html", {"report": report})
