"""API authentication: bearer tokens, or the browser session (with CSRF) for the UI."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from hubbub.api.models import ApiToken
from hubbub.api.token_use import record_use
from hubbub.client_ip import client_ip
from hubbub.tenancy.scoping import PermissionDenied, Scope, scope_for


def request_scope(request: HttpRequest) -> Scope:
    """The scope the API authentication attached to the request; every endpoint starts here (403 without one)."""
    scope = getattr(request, "auth", None)
    if not isinstance(scope, Scope):
        raise PermissionDenied("No organisation membership.")
    return scope


def _failures_key(request: HttpRequest) -> str:
    return f"hubbub:api-token-failures:{client_ip(request)}"


def _refuse_if_throttled(request: HttpRequest) -> None:
    """429 while this address has sent too many unknown or revoked tokens: guessing keys is not worth it, and a
    throttled address is refused even with a good token (otherwise each guess would still be answered)."""
    failures = cache.get(_failures_key(request))
    if failures and failures["n"] >= settings.API_TOKEN_FAILURE_LIMIT:
        minutes = max(1, math.ceil((failures["until"] - time.time()) / 60))
        raise HttpError(429, f"Too many invalid API tokens from your address. Try again in {minutes} minutes.")


def _count_failure(request: HttpRequest) -> None:
    """One more wrong token from this address, within a window that starts at the first one (per process: the
    default cache; a shared cache makes it per deployment)."""
    key = _failures_key(request)
    window = settings.API_TOKEN_FAILURE_WINDOW_SECONDS
    failures = cache.get(key) or {"n": 0, "until": time.time() + window}
    failures["n"] += 1
    cache.set(key, failures, timeout=max(1, math.ceil(failures["until"] - time.time())))


class TokenAuth(HttpBearer):
    """Tokens are not passwords: they never count towards the sign-in lockout; wrong ones are throttled here."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        _refuse_if_throttled(request)
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(token), revoked=False, user__is_active=True)
            .first()
        )
        if found is None:
            _count_failure(request)
            return None
        scope = scope_for(found.user, found.organization_id)
        if scope is None:
            return None
        record_use(found)
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
