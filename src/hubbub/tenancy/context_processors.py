"""Template context: the scope, the brand switcher's brands and the selected brand, and the organisations
of the organisation switcher (only for users with more than one membership)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hubbub.tenancy.models import Membership
from hubbub.tenancy.scoping import Scope
from hubbub.tenancy.switching import memberships_of


def tenancy(request: HttpRequest) -> dict[str, Any]:
    scope = getattr(request, "tenant", None)
    if scope is None:
        return {"scope": None}
    return {
        "scope": scope,
        "switcher_brands": list(scope.brands()),
        "selected_brand": request.session.get("brand_id") if hasattr(request, "session") else None,
        "switcher_memberships": _other_organisations(scope),
    }


def _other_organisations(scope: Scope) -> list[Membership]:
    """Every membership of the user when there is a choice to make, else nothing (no switcher shown)."""
    memberships = memberships_of(scope.user)
    return memberships if len(memberships) > 1 else []
