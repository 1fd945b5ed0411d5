"""The sign-in steps after the password: the two-factor code, and the one-time set-password link."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login

from hubbub.accounts.two_factor import code_refusal, confirmed_device, session_verified


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """The `next` the form carried, when it points into this site (never off to another host)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if ok and target else default


def two_factor_code(request: HttpRequest) -> HttpResponse:
    """Second step of signing in, for a user with an authenticator app: the password alone opens nothing
    (TwoFactorMiddleware sends every other request here until the code is given)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    device = confirmed_device(request.user)
    if device is None or session_verified(request.user):
        return HttpResponseRedirect(safe_next(request))
    error = None
    if request.method == "POST":
        error = code_refusal(device, request.POST.get("code", ""))
        if error is None:
            otp_login(request, device)
            return HttpResponseRedirect(safe_next(request))
    status = 400 if error else 200
    return render(request, "accounts/two_factor_code.html", {"error": error, "next": safe_next(request)}, status=status)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The link an admin handed out (Settings → Users): the person chooses a password the validators accept.
    Django's token makes it one-time: it is bound to the password it replaces."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Sign in with it now.")
        return response


set_password = SetPasswordView.as_view()
