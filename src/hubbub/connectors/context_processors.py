"""Template context: how many of the admin's channels need reconnecting, for the navigation's warning.

Why on every page: a channel whose credentials were refused stops polling, and an admin must learn it
wherever they are, not only on Settings → Channels. One indexed count, for admins only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.tenancy.models import Role


def channel_alerts(request: HttpRequest) -> dict[str, Any]:
    scope = getattr(request, "tenant", None)
    if scope is None or not scope.can(Role.ADMIN):
        return {}
    count = Channel.objects.filter(
        organization_id=scope.organization_id,
        brand_id__in=scope.brand_ids,
        is_active=True,
        status=ChannelStatus.RECONNECT_NEEDED,
    ).count()
    return {"channels_needing_reconnect": count}
