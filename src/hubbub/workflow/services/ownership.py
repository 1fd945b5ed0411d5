"""The organisation check every workflow edit makes before it writes.

The rows a supervisor edits (rules, policies, canned responses, teams) are loaded through the
tenancy scope by views and the API; this is the services' own second check, so a caller that
passes a row of another organisation gets `PermissionDenied` rather than a cross-tenant write.
"""

from __future__ import annotations

from typing import Any

from hubbub.tenancy.scoping import PermissionDenied, Scope


def same_org(scope: Scope, obj: Any) -> None:
    if obj.organization_id != scope.organization_id:
        raise PermissionDenied("Not part of this organisation.")
