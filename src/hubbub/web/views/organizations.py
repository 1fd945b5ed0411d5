"""The organisation switcher of the top bar, for users who belong to several organisations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from hubbub.tenancy.switching import switch_organization


@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Not `scoped_view`: a user whose remembered organisation is gone must still be able to pick another.
    Always back to the inbox: the page the user was on names rows of the organisation they left."""
    if not request.user.is_authenticated:
        return redirect_to_login("/")
    org = switch_organization(request.user, request.session, request.POST.get("organization", ""))
    messages.info(request, f"You are now working in {org.name}.")
    return redirect("inbox")
