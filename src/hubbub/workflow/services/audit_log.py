"""The audit-log query behind the supervisors' audit page, its CSV export and the API.

The entries themselves are written by every service through `tenancy.services.audit`; this only
filters them (verb prefix, actor or "system", `type:id` target, time range), newest first, within what the
user may see: a brand-restricted supervisor sees the entries of their brands only (`Scope.restricted`).
"""

from __future__ import annotations

from typing import Any

from hubbub.tenancy.models import AuditEvent, Role
from hubbub.tenancy.scoping import Scope, require_role


def audit_events(
    scope: Scope, verb: str = "", actor: str = "", target: str = "", since: Any = None, until: Any = None
) -> Any:
    require_role(scope, Role.SUPERVISOR)
    qs = AuditEvent.objects.filter(organization_id=scope.organization_id).select_related("actor")
    if scope.restricted:  # their brands' entries only: organisation-wide ones may name any brand's work
        qs = qs.filter(brand_id__in=scope.brand_ids)
    if verb:
        qs = qs.filter(verb__startswith=verb)
    if actor:
        qs = qs.filter(actor__isnull=True) if actor == "system" else qs.filter(actor__username=actor)
    if target:
        kind, _, ident = target.partition(":")
        qs = qs.filter(target_type=kind)
        if ident:
            qs = qs.filter(target_id=ident)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")
