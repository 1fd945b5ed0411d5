"""The only place that decides who may see what.

Every view, API endpoint and report obtains its querysets through `scoped()` so
that one organisation can never read or change another's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet
from django.http import Http404

from hubbub.ids import storable
from hubbub.tenancy.models import Brand, Membership, Organization, Role

if TYPE_CHECKING:
    # Stub-only alias that django-stubs resolves to the model named by AUTH_USER_MODEL,
    # the model every user foreign key (Membership.user included) points at.
    from django.contrib.auth.models import _User

M = TypeVar("M", bound=Model)

ROLE_RANK = {Role.ANALYST: 0, Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class Scope:
    """The organisation a user works in and the brands they may see."""

    membership: Membership
    brand_ids: frozenset[int]
    # True when the membership names some brands and not all of them: such a user sees nothing that
    # belongs to no brand or to another brand (audit entries, live events); see `sees_brand`.
    restricted: bool = False

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    @property
    def organization_id(self) -> int:
        return self.membership.organization_id

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def user(self) -> _User:
        return self.membership.user

    def can(self, minimum_role: str) -> bool:
        """Roles are ordered analyst < agent < supervisor < admin for actions."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum_role)]

    @property
    def may(self) -> dict[str, bool]:
        """Role checks for templates (`{% if scope.may.supervisor %}`), so a page links only to what the
        server would not refuse this user; the views still check (`require_role`)."""
        return {role.value: self.can(role.value) for role in Role}

    def sees_brand(self, brand_id: int | None) -> bool:
        """Whether a row of this brand (None: of no brand, organisation-wide) is visible. A restricted user
        sees only their brands' rows: an organisation-wide row may still name other brands' work."""
        if brand_id is None:
            return not self.restricted
        return brand_id in self.brand_ids

    def brands(self) -> QuerySet[Brand]:
        return Brand.objects.filter(id__in=self.brand_ids).order_by("name")


class PermissionDenied(Exception):
    """Raised by services when the acting user lacks the role for an action."""


def scope_for(user: AbstractBaseUser | AnonymousUser, organization_id: int | None = None) -> Scope | None:
    """The user's scope in the given (or first) organisation, or None if none."""
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organization", "user").filter(user_id=user.pk)
    if organization_id is not None:
        memberships = memberships.filter(organization_id=organization_id)
    membership = memberships.order_by("organization_id").first()
    if membership is None:
        return None
    chosen = set(membership.brands.values_list("id", flat=True))
    all_ids = set(Brand.objects.filter(organization_id=membership.organization_id).values_list("id", flat=True))
    visible = chosen & all_ids if chosen else all_ids
    return Scope(membership=membership, brand_ids=frozenset(visible), restricted=visible != all_ids)


def scoped(queryset: QuerySet[M], scope: Scope, brand_field: str | None = "brand_id") -> QuerySet[M]:
    """Limit any tenant-owned queryset to the scope's organisation (and brands)."""
    qs = queryset.filter(organization_id=scope.organization_id)
    if brand_field:
        qs = qs.filter(**{f"{brand_field}__in": scope.brand_ids})
    return qs


def get_scoped_or_404(queryset: QuerySet[M], scope: Scope, brand_field: str | None = "brand_id", **lookup: object) -> M:
    """404, never 403, for rows outside the scope: their existence is not revealed. An id no database column
    can hold (from a URL or a form) is a 404 too, before it reaches the database driver."""
    if not all(storable(v) for v in lookup.values()):
        raise Http404("Not found")
    try:
        return scoped(queryset, scope, brand_field).get(**lookup)
    except queryset.model.DoesNotExist as exc:  # type: ignore[attr-defined]
        raise Http404("Not found") from exc


def require_role(scope: Scope, minimum_role: str) -> None:
    if not scope.can(minimum_role):
        raise PermissionDenied(f"This action needs the {minimum_role} role or higher.")


def system_scope(organization_id: int) -> Scope:
    """The whole organisation (every brand), for background work that acts for no user (the CRM sync, a
    worker): it reads what the organisation owns and nothing of another. It has no user: `scope.user`
    fails, so it can never pass for someone's permission in an audit entry or a role check."""
    membership = Membership(organization_id=organization_id, role=Role.ANALYST)
    brand_ids = frozenset(Brand.objects.filter(organization_id=organization_id).values_list("id", flat=True))
    return Scope(membership=membership, brand_ids=brand_ids)
