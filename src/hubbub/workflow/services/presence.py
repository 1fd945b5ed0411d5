"""Composer presence: who else is writing a reply on this conversation right now.

A collision warning, not a lock: each open composer refreshes its row, rows older than
`COMPOSING_TTL` no longer count, and the other agents get a live `composing` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from hubbub import live
from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.workflow.models import ComposerPresence

COMPOSING_TTL = timedelta(seconds=45)


def touch_composer(scope: Scope, conv: Conversation) -> list[str]:
    """Record that this user has the composer open; return the other agents composing now."""
    require_role(scope, Role.AGENT)
    now = timezone.now()
    ComposerPresence.objects.update_or_create(
        conversation=conv, user=scope.user, defaults={"organization_id": scope.organization_id, "seen_at": now}
    )
    others = others_composing(conv, scope.user.pk, now)
    if others:
        live.publish(
            "composing",
            scope.organization_id,
            conversation_id=conv.pk,
            brand_id=conv.brand_id,
            user=scope.user.get_username(),
        )
    return others


def others_composing(conv: Conversation, user_id: int, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    return list(
        ComposerPresence.objects.filter(conversation=conv, seen_at__gte=now - COMPOSING_TTL)
        .exclude(user_id=user_id)
        .values_list("user__username", flat=True)
    )


def leave_composer(scope: Scope, conv: Conversation) -> None:
    ComposerPresence.objects.filter(conversation=conv, user=scope.user).delete()
