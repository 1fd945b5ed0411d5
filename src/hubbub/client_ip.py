"""The address a request came from, for the throttles (sign-in lockout, wrong API tokens)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The browser's address. Behind a trusted proxy (HUBBUB_TRUST_PROXY=1) that is the last X-Forwarded-For
    entry, the one our proxy appended; earlier entries are whatever the client claimed. Without the setting the
    header is ignored, so a client cannot dodge a throttle by sending a new address each time."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.TRUST_PROXY else ""
    if forwarded:
        return str(forwarded).split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))
