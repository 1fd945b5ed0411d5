"""The user's own two-factor page: enrol an authenticator app (QR code, secret, confirm with a code) or
turn it off (with a current code)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django_otp import login as otp_login

from hubbub.accounts.two_factor import (
    confirm_enrolment,
    confirmed_device,
    must_enrol,
    pending_device,
    qr_svg,
    remove_own_device,
    secret_text,
)
from hubbub.accounts.views.signin import safe_next
from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view


@scoped_view
def two_factor_setup(request: HttpRequest, scope: Scope) -> HttpResponse:
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        code = request.POST.get("code", "")
        if action == "remove":
            error = remove_own_device(scope, code)
            if error is None:
                messages.success(request, "Two-factor sign-in is off.")
                return HttpResponseRedirect(request.path)
        elif confirmed_device(scope.user) is None:
            device = pending_device(scope.user)
            error = confirm_enrolment(scope, device, code)
            if error is None:
                otp_login(request, device)  # the code just given verifies this session too
                messages.success(request, "Two-factor sign-in is on: from now on you enter a code after your password.")
                return HttpResponseRedirect(safe_next(request, request.path))
    device = confirmed_device(scope.user)
    context: dict[str, object] = {
        "enabled": device is not None,
        "error": error,
        "required": must_enrol(scope),
        "next": safe_next(request, ""),
    }
    if device is None:
        # Only ever a new, unconfirmed device here: a confirmed one is replaced only by removing it with a code.
        pending = pending_device(scope.user)
        context.update(qr=qr_svg(pending), secret=secret_text(pending))
    return render(request, "accounts/two_factor_setup.html", context, status=400 if error else 200)
