"""Template context: the scope, the brand switcher's brands and the selected brand."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def tenancy(request: HttpRequest) -> dict[str, Any]:
    scope = getattr(request, "tenant", None)
    if scope is None:
        return {"scope": None}
    return {
        "scope": scope,
        "switcher_brands": list(scope.brands()),
        "selected_brand": request.session.get("brand_id") if hasattr(request, "session") else None,
    }
