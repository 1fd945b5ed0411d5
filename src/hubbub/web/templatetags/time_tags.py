"""Short relative times for narrow columns.

Django's `timesince` says "23 hours, 51 minutes", which the inbox list clips
to "23 hours, 51 minut"; an agent scanning the queue needs the order of
magnitude, and the full time stays in the element's title.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def short_since(value: datetime | None, now: datetime | None = None) -> str:
    """ "now", "12 min", "23 h", "6 d", then the date ("3 Nov", with the year when it is not this one)."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 14 * 86400:
        return f"{int(seconds // 86400)} d"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.day} {local:%b}" if local.year == now.year else f"{local.day} {local:%b %Y}"
