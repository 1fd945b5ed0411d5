"""Tenancy actions: each writes its change and its audit entry together."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from hubbub.tenancy.models import AuditEvent


def audit(
    organization_id: int,
    actor: AbstractBaseUser | None,
    verb: str,
    target: Any = None,
    **data: Any,
) -> AuditEvent:
    """Record who did what; called by every state-changing service. The entry takes the brand of its target
    (or a `brand_id` in the data), so the audit log shows a brand-restricted user only their brands."""
    target_type = target._meta.model_name if target is not None and hasattr(target, "_meta") else ""
    target_id = str(getattr(target, "pk", "") or "") if target is not None else ""
    return AuditEvent.objects.create(
        organization_id=organization_id,
        brand_id=_brand_of(target, data),
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )


def audit_entry(
    organization_id: int,
    verb: str,
    target_type: str,
    target_id: object,
    *,
    brand_id: int | None,
    actor_id: int | None = None,
    **data: Any,
) -> AuditEvent:
    """An unsaved entry, for services that record many changes in one `bulk_create`. The brand is a required
    argument (None: organisation-wide) so no entry can be written without deciding who may see it."""
    return AuditEvent(
        organization_id=organization_id,
        brand_id=brand_id,
        actor_id=actor_id,
        verb=verb,
        target_type=target_type,
        target_id=str(target_id),
        data=data,
    )


def _brand_of(target: Any, data: dict[str, Any]) -> int | None:
    brand_id = getattr(target, "brand_id", None) if target is not None else None
    if brand_id is None and isinstance(data.get("brand_id"), int):
        brand_id = data["brand_id"]
    return brand_id if isinstance(brand_id, int) else None
