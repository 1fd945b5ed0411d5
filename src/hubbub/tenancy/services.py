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
    """Record who did what; called by every state-changing service."""
    target_type = target._meta.model_name if target is not None and hasattr(target, "_meta") else ""
    target_id = str(getattr(target, "pk", "") or "") if target is not None else ""
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )
