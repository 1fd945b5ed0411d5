"""An organisation's admins manage its API tokens: issue one for a member (it acts with that member's role and
brands; the key is shown once and stored hashed), revoke, see when each was last used. Audited."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from hubbub.accounts.members import MemberError
from hubbub.api.models import ApiToken
from hubbub.tenancy.models import Membership, Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

NAME_MAX = 100


def tokens_of(scope: Scope) -> QuerySet[ApiToken]:
    require_role(scope, Role.ADMIN)
    return (
        ApiToken.objects.filter(organization_id=scope.organization_id)
        .select_related("user")
        .order_by("revoked", "-created_at")
    )


def token_or_404(scope: Scope, token_id: int) -> ApiToken:
    found = tokens_of(scope).filter(pk=token_id).first()
    if found is None:
        raise Http404("Not found")
    return found


def issue_token(scope: Scope, member: Membership, name: str) -> tuple[ApiToken, str]:
    """A token for `member` (of the admin's organisation); returns it and the plain key, never stored."""
    require_role(scope, Role.ADMIN)
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise MemberError(f"Give the token a name (at most {NAME_MAX} characters) saying what uses it.")
    if member.organization_id != scope.organization_id:
        raise Http404("Not found")
    with transaction.atomic():
        token, key = ApiToken.issue(member.user, scope.organization_id, name)
        audit(
            scope.organization_id,
            scope.user,
            "api_token.created",
            token,
            name=name,
            prefix=token.prefix,
            user=member.user.get_username(),
            role=member.role,
        )
    return token, key


def revoke_token(scope: Scope, token: ApiToken) -> None:
    """Revoked tokens fail authentication from the next request on (the API looks tokens up every time)."""
    require_role(scope, Role.ADMIN)
    if token.revoked:
        return
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(revoked=True)
        token.revoked = True
        audit(scope.organization_id, scope.user, "api_token.revoked", token, name=token.name, prefix=token.prefix)
