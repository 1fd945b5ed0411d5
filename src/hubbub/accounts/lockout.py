"""Sign-in lockout (django-axes): the backend, the client address it counts by, and the page a locked-out
person sees."""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from hubbub.client_ip import client_ip


class LockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check, except for sign-ins without a request: the test client's `login()` and management
    commands have no address to count failures by, and are not reachable by a guessing attacker."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def minutes_left(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """Whole minutes until this username may try again from this address (at least 1)."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return 0
    username = get_client_username(request, credentials)
    last = (
        AccessAttempt.objects.filter(username=username, ip_address=client_ip(request))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    ends = (last or timezone.now()) + cool_off
    return max(1, math.ceil((ends - timezone.now()).total_seconds() / 60))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """429 with the reason and the wait: the person (or the script guessing) learns nothing about the password."""
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": minutes_left(request, credentials), "limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
