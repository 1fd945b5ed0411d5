"""Hold a signed-in user at the two-factor step until it is done: the code for a user with an authenticator app,
enrolment for an admin or supervisor whose organisation requires one. Placed after the tenancy middleware
(the requirement is the organisation's) and before any view, so no page, API call or live stream is reachable
with the password alone, whichever login form (ours or the Django admin's) took it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django_otp import user_has_device

from hubbub.accounts.two_factor import must_enrol, session_verified

# Reachable before the second step: signing in and out, the step itself, the set-password link, static files.
EXEMPT_PREFIXES = ("/login/", "/logout/", "/account/", "/static/", "/healthz")


def _step_for(request: HttpRequest) -> tuple[str, str] | None:
    """(url name, reason) of the step this request must take first, or None."""
    user = request.user
    if not user.is_authenticated or request.path.startswith(EXEMPT_PREFIXES):
        return None
    if session_verified(user):
        return None
    if user_has_device(user):
        return "accounts:two_factor_code", "Enter the code from your authenticator app to finish signing in."
    if must_enrol(getattr(request, "tenant", None)):
        return (
            "accounts:two_factor_setup",
            "Your organisation requires two-factor sign-in for admins and supervisors: set it up first.",
        )
    return None


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        step = _step_for(request)
        if step is None:
            return self.get_response(request)
        name, reason = step
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": reason}, status=403)
        target = f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
