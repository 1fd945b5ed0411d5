"""Settings → Users, for an organisation's admins: its members, their roles and brands, new users,
set-password links, removal, and the two-factor requirement."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from hubbub.accounts import members as svc
from hubbub.accounts.two_factor import enrolled_user_ids, requires_two_factor, reset_member_device, set_requirement
from hubbub.tenancy.models import Brand, Membership, Role
from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view

LINK_SESSION_KEY = "accounts_password_link"  # shown once on the next page load, never put in a URL


def _brand_ids(request: HttpRequest) -> list[int]:
    return [int(v) for v in request.POST.getlist("brands") if v.isdigit()]


def _hand_link(request: HttpRequest, username: str, path: str) -> None:
    request.session[LINK_SESSION_KEY] = {"username": username, "url": request.build_absolute_uri(path)}


@scoped_view
def members_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    members = list(svc.members_of(scope))
    user_ids = [m.user_id for m in members]
    enrolled, shared = enrolled_user_ids(user_ids), svc.shared_user_ids(scope, user_ids)
    rows = [{"m": m, "two_factor": m.user_id in enrolled, "only_here": m.user_id not in shared} for m in members]
    return render(
        request,
        "accounts/members.html",
        {
            "rows": rows,
            "roles": Role.choices,
            "brands": Brand.objects.filter(organization_id=scope.organization_id).order_by("name"),
            "require_two_factor": requires_two_factor(scope.organization_id),
            "link": request.session.pop(LINK_SESSION_KEY, None),
        },
    )


@require_POST
@scoped_view
def member_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    p = request.POST
    try:
        new = svc.create_member(
            scope,
            p.get("username", ""),
            p.get("email", ""),
            p.get("role", ""),
            _brand_ids(request),
            p.get("password", ""),
        )
    except svc.MemberError as exc:
        messages.error(request, f"User not created. {exc}")
        return redirect("accounts:members")
    username = new.membership.user.get_username()
    if new.set_password_path:
        _hand_link(request, username, new.set_password_path)
    messages.success(request, f"{username} added as {new.membership.role}.")
    return redirect("accounts:members")


def _apply(request: HttpRequest, scope: Scope, member: Membership, action: str) -> str:
    """Run one member action; the notice to show."""
    username = member.user.get_username()
    if action == "remove":
        svc.remove_member(scope, member)
        return f"{username} removed from the organisation; their API tokens here are revoked."
    if action == "password_link":
        _hand_link(request, username, svc.new_password_link(scope, member))
        return f"New set-password link for {username} below."
    if action == "reset_two_factor":
        svc.require_only_here(member)
        reset_member_device(scope, member)
        return f"Two-factor reset for {username}: they set it up again at their next sign-in if it is required."
    svc.change_member(scope, member, request.POST.get("role", ""), _brand_ids(request))
    return f"{username} saved."


@require_POST
@scoped_view
def member_update(request: HttpRequest, scope: Scope, membership_id: int) -> HttpResponse:
    member = svc.member_or_404(scope, membership_id)
    try:
        messages.success(request, _apply(request, scope, member, request.POST.get("action", "save")))
    except svc.MemberError as exc:
        messages.error(request, f"Not changed. {exc}")
    return redirect("accounts:members")


@require_POST
@scoped_view
def security_policy(request: HttpRequest, scope: Scope) -> HttpResponse:
    required = request.POST.get("require_two_factor") == "on"
    set_requirement(scope, required)
    messages.success(
        request,
        "Two-factor sign-in is now required for admins and supervisors."
        if required
        else "Two-factor sign-in is now optional.",
    )
    return HttpResponseRedirect(reverse("accounts:members"))
