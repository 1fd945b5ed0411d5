"""Template context of the layout: whether live updates are paused (Redis unreachable).

Why on every page: an agent whose inbox stops updating must be told, not left looking at a list that
silently went stale. The page says so when it is rendered during an outage; the live stream says so
(and that it is over) while the page is open (`live.PAUSED` / `live.RESUMED`, shown by app.js).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hubbub import live


def live_status(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"live_paused": live.paused()}  # one PING per few seconds per process (cached)
