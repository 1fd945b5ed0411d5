"""Server-Sent Events: one stream per browser tab, filtered to the user's organisation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from hubbub.live import get_bus


async def stream(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    scope = getattr(request, "tenant", None)
    if not user.is_authenticated or scope is None:
        return HttpResponse("Log in to receive live updates.", status=401, content_type="text/plain")
    org_id = scope.organization_id

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        async for event in get_bus().subscribe():
            if event is None:
                yield ": keep-alive\n\n"
                continue
            if event.get("organization_id") != org_id:
                continue
            yield f"event: {event.get('kind', 'message')}\ndata: {json.dumps(event)}\n\n"

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
