"""Attach the user's Scope (organisation + visible brands) to every request as `request.tenant`.

(Not `request.scope`: under ASGI that name is the connection scope.)
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hubbub.tenancy.scoping import scope_for


class TenancyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        org_id = request.session.get("organization_id") if hasattr(request, "session") else None
        scope = scope_for(request.user, org_id) if hasattr(request, "user") else None
        if scope is None and org_id is not None:
            # The organisation chosen in the switcher (hubbub.tenancy.switching) is no longer theirs: back to
            # their first one rather than "not a member of any organisation".
            request.session.pop("organization_id", None)
            request.session.pop("brand_id", None)
            scope = scope_for(request.user)
        request.tenant = scope  # type: ignore[attr-defined]
        return self.get_response(request)
