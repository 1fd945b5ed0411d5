"""API authentication: bearer tokens, or the browser session (with CSRF) for the UI."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from hubbub.api.models import ApiToken
from hubbub.tenancy.scoping import PermissionDenied, Scope, scope_for


def request_scope(request: HttpRequest) -> Scope:
    """The scope the API authentication attached to the request; every endpoint starts here (403 without one)."""
    scope = getattr(request, "auth", None)
    if not isinstance(scope, Scope):
        raise PermissionDenied("No organisation membership.")
    return scope


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(token), revoked=False, user__is_active=True)
            .first()
        )
        if found is None:
            return None
        scope = scope_for(found.user, found.organization_id)
        if scope is None:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        request.user = found.user
        request.tenant = scope  # type: ignore[attr-defined]
        return scope


class ScopedSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if not user:
            return None
        scope = getattr(request, "tenant", None) or scope_for(request.user)
        request.tenant = scope  # type: ignore[attr-defined]
        return scope
