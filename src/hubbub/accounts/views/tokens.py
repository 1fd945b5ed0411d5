"""Settings → API tokens, for an organisation's admins: issue (the key is shown once), revoke, last use."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.accounts import members, tokens
from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view

KEY_SESSION_KEY = "accounts_new_token"  # the plain key, shown on the next page load and then forgotten


@scoped_view
def tokens_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": tokens.tokens_of(scope),
            "members": members.members_of(scope),
            "new_token": request.session.pop(KEY_SESSION_KEY, None),
        },
    )


@require_POST
@scoped_view
def token_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    member = members.member_or_404(scope, int(p["member"])) if p.get("member", "").isdigit() else None
    if member is None:
        messages.error(request, "Token not created. Choose the member whose role and brands it acts with.")
        return redirect("accounts:tokens")
    try:
        token, key = tokens.issue_token(scope, member, p.get("name", ""))
    except members.MemberError as exc:
        messages.error(request, f"Token not created. {exc}")
        return redirect("accounts:tokens")
    request.session[KEY_SESSION_KEY] = {"name": token.name, "key": key}
    return redirect("accounts:tokens")


@require_POST
@scoped_view
def token_revoke(request: HttpRequest, scope: Scope, token_id: int) -> HttpResponse:
    token = tokens.token_or_404(scope, token_id)
    tokens.revoke_token(scope, token)
    messages.success(request, f"Token “{token.name}” revoked: requests with it are refused from now on.")
    return redirect("accounts:tokens")
