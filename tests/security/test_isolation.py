"""Class-level tenant isolation: every route of the URL conf and every API operation, every role, another
organisation's (and, for a brand-restricted agent, another brand's) object ids; no answer shows them, no
foreign row changes, and an analyst changes nothing through a mutating route (`isolation_cases`)."""

from __future__ import annotations

import pytest

from tests.security.isolation_cases import (
    ANALYST_MAY,
    FIXED,
    SKIPPED,
    isolation_checks,
    operations,
    shown_to_owner,
    unfillable,
)
from tests.security.isolation_world import build_world
from tests.security.routes import all_routes

pytestmark = pytest.mark.django_db


def test_every_route_parameter_is_understood() -> None:
    assert unfillable() == []


def test_the_explicit_lists_name_only_routes_that_exist() -> None:
    templates = {r.template for r in all_routes()}

    def exists(key: str) -> bool:
        return any(t.startswith(key[:-1]) for t in templates) if key.endswith("*") else key in templates

    stale = sorted(key for key in (*FIXED, *SKIPPED, *ANALYST_MAY) if not exists(key))
    assert stale == [], "these routes are gone: remove them from isolation_cases"


def test_no_route_shows_or_changes_another_tenants_data() -> None:
    checks, leaks = isolation_checks()
    # every operation was tried by someone: the generator did not quietly skip the site
    assert checks >= len(operations())
    if leaks:
        pytest.fail("\n".join(f"{leak.role} {leak.method} {leak.path} → {leak.status}: {leak.why}" for leak in leaks))


def test_the_markers_show_where_a_user_may_see_the_object() -> None:
    """The checks look for markers: on the owner's own pages they are there, so their absence means something."""
    shown = shown_to_owner(build_world())
    canaries = {
        "c/<int:conversation_id>/",
        "customers/<int:customer_id>/",
        "api/v1/conversations/<conversation_id>",
        "api/v1/customers/<customer_id>",
        "issues/<int:issue_id>/",
        "war-room/incidents/<int:incident_id>/",
    }
    assert canaries <= shown
