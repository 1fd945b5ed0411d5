"""An organisation's admins manage its own users: create, change role and brands, remove, hand out a
set-password link. Every function checks the admin role, stays inside the scope's organisation and audits.

A user can belong to several organisations (an agency's staff). What reaches the account itself (its password,
its two-factor device, deactivating it) is therefore refused when the user belongs to another organisation too:
an admin of one tenant must never be able to take over an account that opens another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from hubbub.accounts.passwords import password_problems
from hubbub.api.models import ApiToken
from hubbub.tenancy.models import Brand, Membership, Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit


class MemberError(ValueError):
    """A request the admin can fix (taken username, weak password, last admin); the message says how."""


@dataclass(frozen=True)
class NewMember:
    membership: Membership
    set_password_path: str | None  # when no password was given: the one-time link to hand to the person


def members_of(scope: Scope) -> QuerySet[Membership]:
    require_role(scope, Role.ADMIN)
    return (
        Membership.objects.filter(organization_id=scope.organization_id)
        .select_related("user")
        .prefetch_related("brands")
        .order_by("user__username")
    )


def member_or_404(scope: Scope, membership_id: int) -> Membership:
    """A membership of the admin's organisation; another organisation's is a 404, its existence unrevealed."""
    found = members_of(scope).filter(pk=membership_id).first()
    if found is None:
        raise Http404("Not found")
    return found


def set_password_path(user: Any) -> str:
    """A link that sets the password once: the token is bound to the current password hash and last sign-in,
    so it stops working as soon as it is used (or the password changes), and after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:set_password", args=[uid, default_token_generator.make_token(user)])


def _brands(scope: Scope, brand_ids: Iterable[int]) -> list[Brand]:
    wanted = set(brand_ids)
    brands = list(Brand.objects.filter(organization_id=scope.organization_id, id__in=wanted))
    if len(brands) != len(wanted):
        raise MemberError("One of the chosen brands does not belong to this organisation.")
    return brands


def _role(role: str) -> str:
    if role not in Role.values:
        raise MemberError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
    return role


def create_member(
    scope: Scope, username: str, email: str, role: str, brand_ids: Iterable[int] = (), password: str = ""
) -> NewMember:
    """A new user in the admin's organisation, with a validated password or (none given) a set-password link."""
    require_role(scope, Role.ADMIN)
    User = get_user_model()
    username = username.strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise MemberError(f"Username: {' '.join(exc.messages)}") from exc
    if User.objects.filter(username__iexact=username).exists():
        raise MemberError(f"The username {username!r} is taken; choose another.")
    user = User(username=username, email=email.strip())
    problems = password_problems(password, user) if password else []
    if problems:
        raise MemberError("Password: " + " ".join(problems))
    brands = _brands(scope, brand_ids)
    with transaction.atomic():
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        membership = Membership.objects.create(user=user, organization_id=scope.organization_id, role=_role(role))
        membership.brands.set(brands)
        audit(
            scope.organization_id,
            scope.user,
            "member.created",
            membership,
            username=username,
            role=role,
            brands=[b.slug for b in brands],
            password_link=not password,
        )
    return NewMember(membership, None if password else set_password_path(user))


def _admins_left(scope: Scope, without: Membership) -> int:
    return members_of(scope).filter(role=Role.ADMIN).exclude(pk=without.pk).count()


def change_member(scope: Scope, member: Membership, role: str, brand_ids: Iterable[int]) -> None:
    """New role and brand restriction (none chosen: every brand). The last admin stays an admin."""
    require_role(scope, Role.ADMIN)
    role = _role(role)
    if member.role == Role.ADMIN and role != Role.ADMIN and _admins_left(scope, member) == 0:
        raise MemberError("This is the organisation's last admin: make someone else admin first.")
    brands = _brands(scope, brand_ids)
    before = {"role": member.role, "brands": sorted(b.slug for b in member.brands.all())}
    with transaction.atomic():
        member.role = role
        member.save(update_fields=["role"])
        member.brands.set(brands)
        after = {"role": role, "brands": sorted(b.slug for b in brands)}
        audit(
            scope.organization_id,
            scope.user,
            "member.changed",
            member,
            username=member.user.get_username(),
            before=before,
            after=after,
        )


def shared_user_ids(scope: Scope, user_ids: Iterable[int]) -> set[int]:
    """Which of these users also open another organisation (one query for a whole page of members)."""
    others = Membership.objects.filter(user_id__in=list(user_ids)).exclude(organization_id=scope.organization_id)
    return set(others.values_list("user_id", flat=True))


def only_here(member: Membership) -> bool:
    """Whether the member's account opens this organisation and no other (see the module docstring)."""
    return not Membership.objects.filter(user_id=member.user_id).exclude(pk=member.pk).exists()


def require_only_here(member: Membership) -> None:
    if not only_here(member):
        raise MemberError(
            f"{member.user.get_username()} also belongs to another organisation: only a platform admin can "
            "change their password or two-factor."
        )


def remove_member(scope: Scope, member: Membership) -> None:
    """Take the user out of the organisation: membership gone, their tokens here revoked at once, and the
    account deactivated when it opens no other organisation."""
    require_role(scope, Role.ADMIN)
    if member.user_id == scope.user.pk:
        raise MemberError("You cannot remove yourself; another admin can.")
    if member.role == Role.ADMIN and _admins_left(scope, member) == 0:
        raise MemberError("This is the organisation's last admin: make someone else admin first.")
    user = member.user
    with transaction.atomic():
        revoked = ApiToken.objects.filter(organization_id=scope.organization_id, user_id=user.pk, revoked=False).update(
            revoked=True
        )
        deactivated = only_here(member)
        if deactivated:
            user.is_active = False
            user.save(update_fields=["is_active"])
        audit(
            scope.organization_id,
            scope.user,
            "member.removed",
            member,
            username=user.get_username(),
            role=member.role,
            tokens_revoked=revoked,
            account_deactivated=deactivated,
        )
        member.delete()


def new_password_link(scope: Scope, member: Membership) -> str:
    """A fresh set-password link for a member who lost their password (their current one keeps working until
    the link is used)."""
    require_role(scope, Role.ADMIN)
    require_only_here(member)
    audit(scope.organization_id, scope.user, "member.password_link", member, username=member.user.get_username())
    return set_password_path(member.user)
